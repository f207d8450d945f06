// jitssh user disable <user> [--reason TEXT] | user enable <user> | user list-disabled   [--json] [--server URL]
import type { Command } from 'commander'
import { adminClient } from '../client/admin/api.js'
import { DISABLED_USERS_ANSWER, USER_ACCESS_ANSWER } from '../client/admin/admin-answers.js'
import type { ClientContext } from '../client/context.js'
import { jsonText, terminalSafe } from '../client/terminal-text.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { renderTable } from './table.js'

interface UserCommonOptions {
  json?: boolean
  server?: string
}

export type UserOptions =
  | ({ action: 'disable'; user: string; reason?: string } & UserCommonOptions)
  | ({ action: 'enable'; user: string } & UserCommonOptions)
  | ({ action: 'list-disabled' } & UserCommonOptions)

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`

export function registerUser(program: Command, ctx: ClientContext, run: RunCommand<UserOptions>): void {
  const user = program.command('user').description('disable or enable a user at the server (admins only)')
  const common = (command: Command): Command =>
    command.option('--json', 'print JSON (for scripts)').option('--server <url>', 'the jitssh server (default: the last one logged in to)')
  common(
    user
      .command('disable')
      .description('stop a user: every session ends now, and login, refresh, signing and tunnels are refused until enabled')
      .argument('<user>', 'email or username')
      .option('--reason <text>', 'why, for the audit log'),
  ).action(async (name: string, options: UserCommonOptions & { reason?: string }) => {
    await run(ctx, { action: 'disable', user: name, ...options })
  })
  common(user.command('enable').description('let a disabled user log in again').argument('<user>', 'email or username')).action(
    async (name: string, options: UserCommonOptions) => {
      await run(ctx, { action: 'enable', user: name, ...options })
    },
  )
  common(user.command('list-disabled').description('list the disabled users')).action(async (options: UserCommonOptions) => {
    await run(ctx, { action: 'list-disabled', ...options })
  })
}

export async function userCommand(ctx: ClientContext, options: UserOptions): Promise<number> {
  return options.action === 'list-disabled' ? listDisabled(ctx, options) : changeUserAccess(ctx, options)
}

async function changeUserAccess(ctx: ClientContext, options: Exclude<UserOptions, { action: 'list-disabled' }>): Promise<number> {
  const { action } = options
  const client = await adminClient(ctx, parseServerArg(options.server))
  const result = await client.post(USER_ACCESS_ANSWER, `users/${action}`, {
    user: options.user.trim(),
    ...(action === 'disable' && options.reason !== undefined ? { reason: options.reason } : {}),
  })
  if (options.json === true) {
    ctx.stdout.write(`${jsonText(result)}\n`)
    return 0
  }
  const who = terminalSafe(result.user)
  if (!result.changed) ctx.stdout.write(`${who} was already ${action}d.\n`)
  else if (action === 'enable') ctx.stdout.write(`Enabled ${who}: they can log in again.\n`)
  else ctx.stdout.write(`Disabled ${who}: revoked ${plural(result.revoked_sessions.length, 'session')}; closed ${plural(result.tunnels_closed, 'live tunnel')}.\n`)
  return 0
}

async function listDisabled(ctx: ClientContext, options: UserCommonOptions): Promise<number> {
  const client = await adminClient(ctx, parseServerArg(options.server))
  const list = await client.get(DISABLED_USERS_ANSWER, 'users/disabled')
  if (options.json === true) {
    ctx.stdout.write(`${jsonText(list)}\n`)
    return 0
  }
  if (list.users.length === 0) {
    ctx.stderr.write('No disabled users.\n')
    return 0
  }
  const timeZone = resolveTimeZone(ctx.env)
  ctx.stdout.write(renderTable(['USER', 'DISABLED', 'BY', 'REASON'], list.users.map((u) => [u.user, formatLocalTime(Date.parse(u.disabled_at), timeZone), u.disabled_by ?? '-', u.reason ?? '-'])))
  return 0
}
