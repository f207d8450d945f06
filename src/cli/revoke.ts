// jitssh revoke --user U | --session S [--reason TEXT] [--json] [--server URL]
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import type { RevokeRequest } from '../shared/protocol.js'
import { adminClient } from '../client/admin/api.js'
import { REVOKE_ANSWER } from '../client/admin/admin-answers.js'
import type { ClientContext } from '../client/context.js'
import { jsonText, terminalSafe } from '../client/terminal-text.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'

export interface RevokeOptions {
  user?: string
  session?: string
  reason?: string
  json?: boolean
  server?: string
}

export function registerRevoke(program: Command, ctx: ClientContext, run: RunCommand<RevokeOptions>): void {
  program
    .command('revoke')
    .description('end sessions at once (admins only): refresh and signing stop, live tunnels close, certificates go on the KRL')
    .option('--user <user>', 'every session of this user (email or username)')
    .option('--session <id>', 'one session (see: jitssh sessions)')
    .option('--reason <text>', 'why, for the audit log')
    .option('--json', 'print JSON (for scripts): {user, revoked_sessions, tunnels_closed}')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: RevokeOptions) => {
      await run(ctx, options)
    })
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`

export async function revokeCommand(ctx: ClientContext, options: RevokeOptions): Promise<number> {
  if ((options.user === undefined) === (options.session === undefined)) {
    throw new JitsshError('ERR_USAGE', 'give exactly one of --user and --session', { hint: 'e.g. jitssh revoke --user alice@example.com' })
  }
  const request: RevokeRequest = options.user !== undefined ? { user: options.user.trim() } : { session_id: options.session!.trim() }
  if (options.reason !== undefined) request.reason = options.reason
  const client = await adminClient(ctx, parseServerArg(options.server))
  const result = await client.post(REVOKE_ANSWER, 'revoke', request)
  if (options.json === true) {
    ctx.stdout.write(`${jsonText(result)}\n`)
    return 0
  }
  const whose = terminalSafe(result.user ?? options.user ?? 'the user')
  const count = result.revoked_sessions.length
  ctx.stdout.write(
    count === 0
      ? `Nothing to revoke: ${options.session !== undefined ? `session ${terminalSafe(options.session)} had already ended` : `${whose} has no active sessions`}.\n`
      : `Revoked ${plural(count, 'session')} of ${whose}; closed ${plural(result.tunnels_closed, 'live tunnel')}.\n`,
  )
  return 0
}
