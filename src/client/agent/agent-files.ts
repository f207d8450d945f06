// The directory `jitssh agent --out DIR` keeps: `id_ed25519` (0600, the run's key), `<host>-cert.pub` per
// host, `known_hosts` (the host CA) and, with --ssh-config, `ssh_config`. Every file is replaced atomically
// (a reader sees the old or the new content, never a part); one agent per directory (a lock file).
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { JitsshError } from '../../shared/errors.js'
import { parseHostSpec, renderAgentSshConfig } from '../../ssh/config.js'
import type { ClientContext } from '../context.js'
import { writeFileAtomic } from '../files/atomic-files.js'
import { checkedKey } from '../files/known-hosts.js'
import { acquireLock, type HeldLock } from '../files/lock.js'

const LOCK_FILE = '.jitssh-agent.lock'
/** Marks a directory as an agent's: only then are files of an earlier run removed from it. */
const MARKER_FILE = '.jitssh-agent'

/** A host name from the command line or the server, checked before it becomes part of a path or a config line. */
export function checkedHost(host: string): string {
  try {
    return parseHostSpec(host, { allowPattern: false, allowPort: false }).host
  } catch (error) {
    throw new JitsshError('ERR_INVALID_HOSTNAME', `not a host name: ${JSON.stringify(host.slice(0, 80))} (${error instanceof Error ? error.message : 'invalid'})`)
  }
}

export class AgentFiles {
  readonly keyPath: string
  readonly knownHostsPath: string
  readonly sshConfigPath: string

  private constructor(
    private readonly ctx: ClientContext,
    readonly dir: string,
    private readonly lock: HeldLock,
  ) {
    this.keyPath = join(dir, 'id_ed25519')
    this.knownHostsPath = join(dir, 'known_hosts')
    this.sshConfigPath = join(dir, 'ssh_config')
  }

  /** Creates the directory (0700) and takes it: a second agent on the same directory is refused. */
  static async open(ctx: ClientContext, dir: string): Promise<AgentFiles> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    const lock = await acquireLock(join(dir, LOCK_FILE), {
      now: ctx.now, sleep: ctx.sleep, signal: ctx.signal, staleMs: Number.MAX_SAFE_INTEGER, timeoutMs: 0,
      onWait: (holder) => {
        throw new JitsshError('ERR_USAGE', `another jitssh agent (pid ${holder?.pid ?? '?'}) keeps ${dir}`, { hint: 'stop it, or give another --out directory' })
      },
    })
    const names = (await fs.readdir(dir)).filter((name) => name !== LOCK_FILE)
    if (names.length > 0 && !names.includes(MARKER_FILE)) {
      await lock.release()
      throw new JitsshError('ERR_USAGE', `${dir} is not empty and not a jitssh agent's directory`, { hint: 'give --out a new or empty directory' })
    }
    await writeFileAtomic(join(dir, MARKER_FILE), 'written by jitssh agent\n', 0o644)
    // What an earlier run left: its temp files, and its key, certificates and ssh_config (this run has a new
    // key; ssh_config appears again only once every certificate for it is in place, so scripts can wait for it).
    for (const name of names) {
      if (/^\..+\.tmp$/.test(name) || /-cert\.pub$/.test(name) || ['id_ed25519', 'known_hosts', 'ssh_config'].includes(name)) await fs.rm(join(dir, name), { force: true })
    }
    return new AgentFiles(ctx, dir, lock)
  }

  certificatePath(host: string): string {
    return join(this.dir, `${checkedHost(host)}-cert.pub`)
  }

  async writeKey(privateKey: string): Promise<void> {
    await writeFileAtomic(this.keyPath, privateKey, 0o600)
  }

  async writeCertificate(host: string, line: string): Promise<void> {
    await writeFileAtomic(this.certificatePath(host), `${line.trim()}\n`, 0o644)
  }

  async writeKnownHosts(hostCaLine: string): Promise<void> {
    await writeFileAtomic(this.knownHostsPath, `@cert-authority * ${checkedKey(hostCaLine, 'host CA key')} jitssh-agent\n`, 0o644)
  }

  async writeSshConfig(input: { hosts: string[]; program: string[]; server: string }): Promise<void> {
    const text = renderAgentSshConfig({
      ...input,
      keyFile: this.keyPath,
      certificateFor: (host) => this.certificatePath(host),
      knownHostsFile: this.knownHostsPath,
      platform: this.ctx.platform === 'win32' ? 'win32' : 'posix',
    })
    await writeFileAtomic(this.sshConfigPath, text, 0o644)
  }

  async close(): Promise<void> {
    await this.lock.release()
  }
}
