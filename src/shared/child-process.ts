// node:child_process, loaded when a program is first run: loading it up front cost every jitssh command ~3 ms
// (the CLI bundle's top level), and most commands, ssh-gen's cold path among them, never run one.
export const childProcess = (): typeof import('node:child_process') => process.getBuiltinModule('node:child_process') as typeof import('node:child_process')

export interface ProgramResult {
  /** The exit code; null when it could not start, or was killed at `timeoutMs`. */
  code: number | null
  stdout: string
  stderr: string
  /** The program is not there (ENOENT). */
  missing: boolean
}

/** Runs a program to the end (or `timeoutMs`, then SIGKILL): its exit code and output; a start failure's message as stderr. */
export function runProgram(command: string, args: string[], env: Record<string, string | undefined>, timeoutMs: number, cwd?: string): Promise<ProgramResult> {
  return new Promise((done) => {
    const child = childProcess().spawn(command, args, { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      done({ code: null, stdout, stderr: stderr || error.message, missing: error.code === 'ENOENT' })
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr, missing: false })
    })
  })
}
