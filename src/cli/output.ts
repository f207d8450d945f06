// What the CLI says on stderr: progress and warnings (colour and a spinner only on a terminal, and
// colour only without NO_COLOR), and errors as one line with the fix; --debug adds the cause chain.
import { isJitsshError } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import type { LoginUi } from '../client/auth/login.js'
import { terminalSafe } from '../client/terminal-text.js'

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

export function useColour(ctx: Pick<ClientContext, 'isTTY' | 'env'>): boolean {
  return ctx.isTTY && ctx.env.NO_COLOR === undefined && ctx.env.TERM !== 'dumb'
}

export function createUi(ctx: ClientContext): LoginUi {
  const colour = useColour(ctx)
  const paint = (code: string, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text)
  return {
    info: (text) => void ctx.stderr.write(`${text}\n`),
    warn: (text) => void ctx.stderr.write(`${paint('33', 'warning:')} ${text}\n`),
    waiting: (text) => {
      if (!ctx.isTTY) {
        ctx.stderr.write(`${text}\n`)
        return () => undefined
      }
      let frame = 0
      const draw = () => ctx.stderr.write(`\r${paint('36', FRAMES[frame++ % FRAMES.length]!)} ${text}`)
      draw()
      const timer = setInterval(draw, 80)
      let stopped = false
      return () => {
        if (stopped) return
        stopped = true
        clearInterval(timer)
        ctx.stderr.write('\r\x1b[K')
      }
    },
  }
}

/**
 * The line(s) for an error: `jitssh: message (hint)`; with debug, the code and the cause chain too. Messages
 * may carry the server's words: made terminal-safe here, so that an error is always one line.
 */
export function formatError(error: unknown, debug: boolean): string {
  if (isJitsshError(error)) {
    let out = `jitssh: ${terminalSafe(`${error.message}${error.hint ? ` (${error.hint})` : ''}`)}\n`
    if (debug) {
      out += `  code: ${error.code}\n`
      out += causeChain(error.cause)
    }
    return out
  }
  const message = error instanceof Error ? error.message : String(error)
  if (debug) return `jitssh: internal error: ${terminalSafe(message)}\n${error instanceof Error ? `${error.stack ?? ''}\n` : ''}${causeChain(error instanceof Error ? error.cause : undefined)}`
  return `jitssh: internal error: ${terminalSafe(message.split('\n', 1)[0] ?? '')} (run with --debug for details)\n`
}

function causeChain(cause: unknown): string {
  let out = ''
  for (let depth = 0; cause !== undefined && cause !== null && depth < 8; depth++) {
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code
      out += `  caused by: ${cause.name}${code ? ` [${code}]` : ''}: ${terminalSafe(cause.message)}\n`
      if (cause.stack) out += `${cause.stack.split('\n').slice(1, 6).map((l) => `    ${l.trim()}`).join('\n')}\n`
      cause = cause.cause
    } else {
      out += `  caused by: ${terminalSafe(String(cause))}\n`
      break
    }
  }
  return out
}
