/**
 * jitssh-server as its own process (`jitssh-server start --config`), so its CPU and memory are its own: the
 * config and keys come from test/helpers/server.ts `writeTestConfig`; its JSON log goes to a file, as it
 * would to a journal (not to a pipe this process must drain); the URL is read from the "listening" line.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTestConfig, type TestServerOptions } from '../test/helpers/server.js'
import { REPO_ROOT } from '../test/helpers/stack.js'

export interface ServerProcess {
  url: string
  pid: number
  dir: string
  /** VmHWM (peak resident set) and VmRSS of the server process, in MiB. */
  memory(): { peakMiB: number; rssMiB: number }
  /** CPU seconds (user + system) the server process has used so far. */
  cpuSeconds(): number
  stop(): Promise<void>
}

/** `nodeArgs` go before the script; BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles every bench server. */
export async function startServerProcess(options: TestServerOptions, nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'jitssh-bench-server-'))
  const configPath = await writeTestConfig(dir, options)
  const logPath = join(dir, 'server.log')
  const logFd = openSync(logPath, 'a')
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, join(REPO_ROOT, 'bin', 'jitssh-server.js'), 'start', '--config', configPath], {
    stdio: ['ignore', 'ignore', logFd],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' },
  })
  closeSync(logFd)
  const exited = once(child, 'exit')
  const url = await waitForListening(logPath, child, 30_000)
  const pid = child.pid!
  return {
    url,
    pid,
    dir,
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
      return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 }
    },
    cpuSeconds() {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) / 100
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function waitForListening(logPath: string, child: ChildProcess, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`jitssh-server exited (${child.exitCode}):\n${readFileSync(logPath, 'utf8')}`)
    const text = readFileSync(logPath, 'utf8')
    const line = text.split('\n').find((l) => l.includes('jitssh-server listening'))
    if (line) return (JSON.parse(line) as { url: string }).url
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`jitssh-server did not start within ${timeoutMs} ms:\n${readFileSync(logPath, 'utf8')}`)
}
