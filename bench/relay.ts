/**
 * The C relay baseline of the bulk figure (DESIGN.md: "the floor of any ProxyCommand-plus-bastion design on
 * this machine"): the same shape as jitssh's path, with socat in both places and no authentication or audit —
 *
 *   ssh ─ ProxyCommand `socat - TCP:127.0.0.1:<relay>` ─▶ `socat TCP-LISTEN:<relay>,fork,reuseaddr TCP:127.0.0.1:<sshd>` ─▶ sshd
 *
 * socat with its defaults (8 KiB reads), as a person would write it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { freeLoopbackPort } from '../test/helpers/sshd.js'

export const SOCAT = 'socat'

/** Throws with the package to install when socat is not on PATH (the bench needs it; CI installs it: .ci/run). */
export function requireSocat(): void {
  const probe = spawnSync(SOCAT, ['-V'], { stdio: 'ignore' })
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error('socat is not installed: the bulk figure measures a socat relay beside jitssh (Debian/Ubuntu: apt-get install socat)')
  }
}

export interface Relay {
  port: number
  /** The ProxyCommand line of the relay's ssh config entry. */
  proxyCommand: string
  stop(): Promise<void>
}

export async function startSocatRelay(targetPort: number): Promise<Relay> {
  const port = await freeLoopbackPort()
  const child: ChildProcess = spawn(SOCAT, [`TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${targetPort}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = once(child, 'exit')
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await exited
  }
  // Listening once a connection is accepted (the probe's own relayed connection ends at once).
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`socat exited (${child.exitCode}):\n${stderr}`)
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`socat did not listen on 127.0.0.1:${port} within 10 s:\n${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return { port, proxyCommand: `${SOCAT} - TCP:127.0.0.1:${port}`, stop }
}
