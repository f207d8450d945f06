/** Runs a bash script to completion with the given environment (nothing else inherited); collects its output. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'

export interface ShellResult {
  code: number | null
  stdout: string
  stderr: string
}

export async function runBash(script: string, env: NodeJS.ProcessEnv, timeoutMs = 600_000): Promise<ShellResult> {
  const child = spawn('/bin/bash', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** A word for a POSIX shell command line. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
