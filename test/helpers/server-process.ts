/**
 * jitssh-server as its own process (`node bin/jitssh-server.js start --config FILE`, from dist: run
 * `npm run build` first, as `npm test` does), for tests that must kill it for real:
 *
 *   const server = await spawnServer(configPath)      // resolves once it logged "listening"; server.url
 *   server.kill('SIGKILL'); await server.exited
 *
 * The JSON log (stderr) is kept in `server.log()`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { REPO_ROOT } from './stack.js'

export interface ServerProcess {
  url: string
  child: ChildProcess
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals>
  log(): string
  kill(signal: NodeJS.Signals): void
}

export async function spawnServer(configPath: string, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'jitssh-server.js'), 'start', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk))
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | NodeJS.Signals)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`jitssh-server did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs)
    const check = (): void => {
      const listening = /"url":"(https?:\/\/[^"]+)"[^\n]*jitssh-server listening/.exec(log)
      if (!listening) return
      clearTimeout(timer)
      child.stderr!.off('data', check)
      resolve(listening[1]!)
    }
    child.stderr!.on('data', check)
    void exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`jitssh-server exited (${how}) before it listened:\n${log}`))
    })
  })
  return {
    url, child, exited,
    log: () => log,
    kill: (signal) => void (child.exitCode === null && child.signalCode === null && child.kill(signal)),
  }
}
