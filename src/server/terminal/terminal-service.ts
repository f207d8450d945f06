import { EventEmitter } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { WebSocket } from 'ws'
import { isJitsshError } from '../../shared/errors.js'
import { TERMINAL_CLOSE, type TerminalServerMessage } from '../../shared/terminal-protocol.js'
import { generateKeyPair, type SshKeyPair } from '../../ssh/keys.js'
import { signSshData } from '../../ssh/ssh-signature.js'
import type { HostAccess } from '../bastion/access-check.js'
import { issueUserCertificate } from '../ca/issue-certificate.js'
import type { Uses } from '../context.js'
import { randomId } from '../oauth/secrets.js'
import { bridgeWebSocketToPty, type PtyProcess, type TerminalBridge, type TerminalFlow, type TerminalStats } from './pty-bridge.js'
import { Recorder, type FinishedRecording } from './recorder.js'
import { knownHostsText, sshArguments } from './ssh-command.js'
import { startAgent, type RunningAgent } from './ssh-agent.js'

export type TerminalServiceDeps = Uses<'audit' | 'config' | 'keys' | 'now' | 'requests' | 'tunnels', 'recordings'>

/** The browser terminal's certificate only has to log in once: it lives this long (the session goes on). */
export const WEB_CERTIFICATE_TTL_MS = 5 * 60_000

/** Starts a process in a new PTY (node-pty's spawn with `encoding: null`: see node-pty.ts). */
export type SpawnPty = (file: string, args: string[], options: { cols: number; rows: number; cwd: string; env: Record<string, string> }) => Promise<PtyProcess>

export interface TerminalRequest {
  /** What openHostAccess allowed: the session (re-resolved), the policy's grant, the target. */
  access: HostAccess
  host: string
  login: string
  size: { cols: number; rows: number }
  ip: string
}

/** A terminal that ended: its id in the registry, what it carried, and its flow-control counters. */
export interface ClosedTerminal {
  id: number
  stats: TerminalStats
  flow: TerminalFlow
  recording: FinishedRecording | undefined
}

/** What exists for one terminal while it starts and runs; `end()` removes it all. */
interface Workspace {
  dir: string
  key: SshKeyPair
  agent?: RunningAgent
  recorder?: Recorder
}

/**
 * Runs browser terminals: for each, after every check has passed (openHostAccess, before the WebSocket
 * upgrade), an in-memory Ed25519 key and a short certificate for the person (issueUserCertificate: recorded
 * and audited like a CLI one, so it goes on the KRL with its session), an ssh-agent holding it on a 0600
 * socket in a 0700 directory, a known_hosts with only the host CA, a recording, and real OpenSSH `ssh -tt` in
 * a PTY. The terminal is registered with the TunnelSupervisor, so revocations close it. Emits `closed`.
 */
export class TerminalService extends EventEmitter<{ closed: [ClosedTerminal] }> {
  /** How many ssh processes were started (a refused terminal starts none). */
  spawned = 0
  private readonly bridges = new Map<number, TerminalBridge>()

  constructor(
    private readonly deps: TerminalServiceDeps,
    private readonly spawnPty: SpawnPty,
    private readonly log: (error: unknown, message: string) => void,
  ) {
    super()
  }

  /** The flow-control counters of a live terminal (by its registry id). */
  flow(id: number): TerminalFlow | undefined {
    return this.bridges.get(id)?.flow()
  }

  /** Serves the terminal on `ws` until either side ends it. */
  async run(ws: WebSocket, request: TerminalRequest): Promise<void> {
    // The page sends its size and may type at once: hold its messages until the bridge listens.
    ws.pause()
    const early: Buffer[] = []
    const hold = (data: Buffer): void => void early.push(data)
    ws.on('message', hold)
    const openedAt = this.deps.now()
    let workspace: Workspace | undefined
    try {
      workspace = await this.prepare(request, openedAt)
    } catch (error) {
      this.log(error, 'the browser terminal could not start')
      ws.resume()
      ws.close(TERMINAL_CLOSE.FAILED, isJitsshError(error) ? error.message.slice(0, 120) : 'the terminal could not start')
      return
    } finally {
      ws.off('message', hold)
    }
    const recorder = workspace.recorder!
    if (ws.readyState !== ws.OPEN) {
      await this.end(workspace, request, openedAt, undefined, { bytesIn: 0, bytesOut: 0, closeCode: 1001, closeReason: 'the page left before the terminal started', exitCode: null })
      return
    }
    const { host, login, access } = request
    let pty: PtyProcess
    try {
      pty = await this.startSsh(request, workspace)
    } catch (error) {
      this.log(error, 'ssh could not be started in a PTY')
      ws.resume()
      ws.close(TERMINAL_CLOSE.FAILED, 'ssh could not be started')
      await this.end(workspace, request, openedAt, undefined, { bytesIn: 0, bytesOut: 0, closeCode: TERMINAL_CLOSE.FAILED, closeReason: 'ssh could not be started', exitCode: null })
      return
    }
    let entryId = 0
    const bridge = bridgeWebSocketToPty(ws, pty, recorder, {
      keepaliveMs: this.deps.config.bastion.keepaliveMs,
      recordInput: access.decision.recordInput,
      onClose: (stats) => void this.end(workspace, request, openedAt, entryId, stats),
    })
    recorder.onFailure((error) => {
      this.log(error, 'a terminal recording could not be written; the terminal is closed')
      bridge.close(TERMINAL_CLOSE.FAILED, 'the recording could not be written')
    })
    entryId = this.deps.tunnels.add({
      kind: 'terminal', sessionId: access.session.id, user: access.session.identity.email, host, openedAt, sourceIp: request.ip, grantId: access.decision.grantId,
      close: (code, reason) => bridge.close(code, reason), bytes: () => bridge.bytes(),
    }).id
    if (access.decision.grantId) {
      const actor = { identity: access.session.identity, auth: access.session.auth, sessionId: access.session.id, ip: request.ip }
      void this.deps.requests.used(access.decision.grantId, actor, { action: 'terminal', host }).catch((error: unknown) => this.log(error, 'access requests: recording the first use failed'))
    }
    this.bridges.set(entryId, bridge)
    ws.send(JSON.stringify({ t: 'started', host, login } satisfies TerminalServerMessage))
    ws.resume()
    for (const data of early) ws.emit('message', data, false)
  }

  /** Real OpenSSH in a PTY, with nothing of the server's environment but PATH (see ssh-command.ts for its options). */
  private startSsh(request: TerminalRequest, workspace: Workspace): Promise<PtyProcess> {
    const { bastion } = this.deps.config
    const args = sshArguments({
      host: request.host, login: request.login, target: request.access.target, agentSocket: workspace.agent!.socketPath,
      knownHostsFile: join(workspace.dir, 'known_hosts'), noIdentityFile: join(workspace.dir, 'no-identity'),
      connectTimeoutMs: bastion.connectTimeoutMs, keepaliveMs: bastion.keepaliveMs,
    })
    this.spawned++
    return this.spawnPty('ssh', args, { ...request.size, cwd: workspace.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workspace.dir, LANG: 'C.UTF-8' } })
  }

  /** Key, certificate, agent, known_hosts and recording; `terminal.open` is audited last, before any byte. */
  private async prepare(request: TerminalRequest, openedAt: number): Promise<Workspace> {
    const { access, host, login } = request
    const { session, decision, target } = access
    const workspace: Workspace = { dir: await mkdtemp(join(tmpdir(), 'jitssh-terminal-')), key: generateKeyPair('ssh-ed25519') }
    try {
      const { certificate, row } = await issueUserCertificate(this.deps, {
        publicKey: workspace.key.publicKey, host, session, grant: decision, purpose: 'web', maxTtlMs: WEB_CERTIFICATE_TTL_MS, ip: request.ip,
        onSignerError: (error) => this.log(error, 'the user CA could not sign'),
      })
      const { key } = workspace
      workspace.agent = await startAgent(join(workspace.dir, 'agent.sock'), { blob: certificate.blob, comment: certificate.keyId, sign: (data) => signSshData(key.type, key.privateKey, data) })
      await writeFile(join(workspace.dir, 'known_hosts'), knownHostsText(host, this.deps.keys.hostCaLine), { mode: 0o600 })
      const recording = {
        id: randomId(12), sessionId: session.id, userEmail: session.identity.email, host, login, startedAt: openedAt, endedAt: null, durationMs: null,
        size: null, sha256: null, recordInput: decision.recordInput, width: request.size.cols, height: request.size.rows,
      }
      workspace.recorder = await Recorder.start(this.deps.store.recordings, recording, `${login}@${host} (${session.identity.email})`, this.deps.now)
      await this.deps.audit.record({
        type: 'terminal.open', outcome: 'ok', user: session.identity.email, sessionId: session.id, host,
        detail: { target: `${target.host}:${target.port}`, login, ip: request.ip, serial: row.serial, key_id: row.keyId, recording_id: recording.id, record_input: recording.recordInput },
      })
      return workspace
    } catch (error) {
      await this.dispose(workspace)
      throw error
    }
  }

  /** After ssh ended: the recording's end, the agent and directory gone, `terminal.close` audited, then unregistered. */
  private async end(workspace: Workspace, request: TerminalRequest, openedAt: number, entryId: number | undefined, stats: TerminalStats): Promise<void> {
    const recording = await workspace.recorder?.finish().catch((error: unknown) => void this.log(error, 'a terminal recording could not be finished'))
    await this.dispose(workspace)
    const { session } = request.access
    await this.deps.audit
      .record({
        type: 'terminal.close', outcome: 'ok', user: session.identity.email, sessionId: session.id, host: request.host,
        detail: {
          login: request.login, bytes_in: stats.bytesIn, bytes_out: stats.bytesOut, duration_ms: this.deps.now() - openedAt, close_code: stats.closeCode,
          reason: stats.closeReason, exit_code: stats.exitCode, recording_id: workspace.recorder?.row.id ?? null, recording_sha256: recording?.sha256 ?? null,
          recording_size: recording?.size ?? null, recording_duration_ms: recording?.durationMs ?? null,
        },
      })
      .catch((error: unknown) => this.log(error, 'audit write failed for terminal.close'))
    if (entryId === undefined) return
    const flow = this.bridges.get(entryId)?.flow() ?? { pending: 0, maxPending: 0, maxChunk: 0, paused: false }
    this.bridges.delete(entryId)
    this.deps.tunnels.remove(entryId)
    this.emit('closed', { id: entryId, stats, flow, recording: recording ?? undefined })
  }

  /** The agent stops and the directory (socket, known_hosts) goes; the key goes with this object. */
  private async dispose(workspace: Workspace): Promise<void> {
    await workspace.agent?.close().catch(() => undefined)
    await rm(workspace.dir, { recursive: true, force: true }).catch(() => undefined)
  }
}
