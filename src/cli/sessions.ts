// jitssh sessions [--all] [--user U] [--json] [--server URL]
import type { Command } from 'commander'
import { adminClient } from '../client/admin/api.js'
import { SESSION_LIST_ANSWER } from '../client/admin/admin-answers.js'
import type { ClientContext } from '../client/context.js'
import { jsonText } from '../client/terminal-text.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { renderTable } from './table.js'

export interface SessionsOptions {
  all?: boolean
  user?: string
  json?: boolean
  server?: string
}

export function registerSessions(program: Command, ctx: ClientContext, run: RunCommand<SessionsOptions>): void {
  program
    .command('sessions')
    .description('list the active sessions at the server (admins only), newest first, with their live tunnels')
    .option('--all', 'also revoked and expired sessions')
    .option('--user <user>', 'sessions of this user (email or username)')
    .option('--json', 'print JSON (for scripts): {sessions}')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: SessionsOptions) => {
      await run(ctx, options)
    })
}

export async function sessionsCommand(ctx: ClientContext, options: SessionsOptions): Promise<number> {
  const client = await adminClient(ctx, parseServerArg(options.server))
  const list = await client.get(SESSION_LIST_ANSWER, 'sessions', { all: options.all === true ? '1' : undefined, user: options.user?.trim() })
  if (options.json === true) {
    ctx.stdout.write(`${jsonText(list)}\n`)
    return 0
  }
  if (list.sessions.length === 0) {
    ctx.stderr.write(options.all === true ? 'No sessions.\n' : 'No active sessions.\n')
    return 0
  }
  const timeZone = resolveTimeZone(ctx.env)
  const local = (iso: string | null): string => (iso === null ? '-' : formatLocalTime(Date.parse(iso), timeZone))
  const headers = ['SESSION', 'USER', 'CREATED', 'EXPIRES', 'TUNNELS', ...(options.all === true ? ['STATE', 'REVOKED'] : [])]
  const rows = list.sessions.map((s) => [
    s.session_id, s.user, local(s.created_at), local(s.expires_at), String(s.live_tunnels),
    ...(options.all === true ? [s.state ?? (s.revoked_at ? 'revoked' : 'active'), s.revoked_at ? `${local(s.revoked_at)} (${s.revoked_reason ?? 'revoked'})` : '-'] : []),
  ])
  ctx.stdout.write(renderTable(headers, rows))
  return 0
}
