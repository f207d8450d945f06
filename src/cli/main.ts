// The full CLI: a commander program with one file per command. main() returns an exit code and never
// calls process.exit; everything outside comes in through the context.
import { Command, CommanderError, Option } from 'commander'
import { EXIT, exitCodeFor } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { parseJitsshEnv } from '../client/env.js'
import { createProcessContext } from './context.js'
import { formatError } from './output.js'
import { defineLogin } from './login.js'
import { defineLogout } from './logout.js'
import { defineStatus } from './status.js'
import { defineSshConfig } from './ssh-config.js'
import { defineSshGen } from './ssh-gen.js'
import { defineSsh } from './ssh.js'
import { defineAudit } from './audit.js'
import { defineRevoke } from './revoke.js'
import { defineSessions } from './sessions.js'
import { defineUserAccess } from './user-access.js'

export const VERSION = '0.1.0'

/** Each command's action returns its exit code through this. */
export type Action<O> = (options: O) => Promise<number>
export type Define = (program: Command, ctx: ClientContext, done: (code: number) => void) => void

export async function main(argv: string[], context?: ClientContext): Promise<number> {
  const owned = context === undefined ? createProcessContext() : null
  const ctx = context ?? owned!.ctx
  const debug = argv.includes('--debug') || parseJitsshEnv(ctx.env).debug
  let code: number = EXIT.OK
  const program = new Command('jitssh')
    .description('Just-in-time SSH access: short-lived OpenSSH certificates through an auditing bastion.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--debug', 'show the cause chain of errors (also JITSSH_DEBUG=1)'))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'jitssh: ')),
    })
    .showSuggestionAfterError(true)
  for (const define of [defineLogin, defineLogout, defineStatus, defineSshConfig, defineSshGen, defineSsh, defineAudit, defineSessions, defineRevoke, defineUserAccess] as Define[]) {
    define(program, ctx, (c) => (code = c))
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return EXIT.USAGE
      return EXIT.USAGE
    }
    ctx.stderr.write(formatError(error, debug))
    return exitCodeFor(error)
  } finally {
    await owned?.dispose()
  }
}
