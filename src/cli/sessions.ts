// jitssh sessions [--all] [--user U] [--json] [--server URL]
import type { Command } from 'commander'
import { adminClient } from '../client/admin/api.js'
import { SESSION_LIST_ANSWER, TUNNEL_LIST_ANSWER } from '../client/admin/admin-answers.js'
import type { TunnelInfo } from '../shared/protocol.js'
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
    .option('--json', 'print JSON (for scripts): {sessions}, each with its live tunnels')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: SessionsOptions) => {
      await run(ctx, options)
    })
}

export async function sessionsCommand(ctx: ClientContext, options: SessionsOptions): Promise<number> {
  const client = await adminClient(ctx, parseServerArg(options.server))
  const list = await client.get(SESSION_LIST_ANSWER, 'sessions', { all: options.all === true ? '1' : undefined, user: options.user?.trim() })
  // The tunnels themselves, not only their count (the count is the replica's that answered; so are these).
  const { tunnels } = await client.get(TUNNEL_LIST_ANSWER, 'tunnels')
  const bySession = new Map<string, TunnelInfo[]>()
  for (const tunnel of tunnels) bySession.set(tunnel.session_id, [...(bySession.get(tunnel.session_id) ?? []), tunnel])
  const sessions = list.sessions.map((session) => ({ ...session, tunnels: bySession.get(session.session_id) ?? [] }))
  if (options.json === true) {
    ctx.stdout.write(`${jsonText({ sessions })}\n`)
    return 0
  }
  if (sessions.length === 0) {
    ctx.stderr.write(options.all === true ? 'No sessions.\n' : 'No active sessions.\n')
    return 0
  }
  const timeZone = resolveTimeZone(ctx.env)
  const local = (iso: string | null): string => (iso === null ? '-' : formatLocalTime(Date.parse(iso), timeZone))
  const headers = ['SESSION', 'USER', 'CREATED', 'EXPIRES', ...(options.all === true ? ['STATE', 'REVOKED'] : []), 'TUNNELS']
  const rows = sessions.map((s) => [
    s.session_id, s.user, local(s.created_at), local(s.expires_at),
    ...(options.all === true ? [s.state ?? (s.revoked_at ? 'revoked' : 'active'), s.revoked_at ? `${local(s.revoked_at)} (${s.revoked_reason ?? 'revoked'})` : '-'] : []),
    s.tunnels.length > 0 ? s.tunnels.map((t) => `${t.host} since ${local(t.opened_at)}`).join(', ') : '-',
  ])
  ctx.stdout.write(renderTable(headers, rows))
  return 0
}
