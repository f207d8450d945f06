/**
 * A program on a pseudo-terminal, as a person runs it: util-linux `script` gives it one (so ssh allocates a
 * remote tty and puts the local terminal in raw mode, and jitssh sees a terminal on stderr). Everything the
 * program writes to the terminal, stdout and stderr mixed as a person would see them, arrives in `output`.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'

export interface PtyRun {
  /** All terminal output so far (raw bytes as text: CR LF as the terminal got them). */
  output(): string
  /** Resolves with the output once `re` matches it; rejects when the program ends first or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>
  /** Resolves with the exit code and the whole output. */
  exited: Promise<{ code: number | null; output: string }>
  kill(): void
}

const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`

export function runOnPty(argv: string[], env: Record<string, string | undefined>): PtyRun {
  const child = spawn('script', ['-qfec', argv.map(quote).join(' '), '/dev/null'], { env: { ...process.env, ...env } as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] })
  let text = ''
  const waiters = new Set<() => void>()
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk
    for (const wake of waiters) wake()
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
  const exited = once(child, 'close').then(([code]) => ({ code: code as number | null, output: text }))
  return {
    output: () => text,
    waitFor: (re, timeoutMs = 30_000) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          if (!re.test(text)) return
          cleanup()
          resolve(text)
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`the terminal did not show ${re} within ${timeoutMs} ms:\n${text}`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        void exited.then(() => {
          if (!waiters.has(check)) return
          cleanup()
          if (re.test(text)) resolve(text)
          else reject(new Error(`the program ended before the terminal showed ${re}:\n${text}`))
        })
        check()
      }),
    exited,
    kill: () => void child.kill('SIGKILL'),
  }
}
