// jitssh audit [--user U] [--host H] [--type T] [--since T] [--until T] [--limit N] [--oldest-first] [--json] [--server URL]
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import type { AuditEvent } from '../shared/protocol.js'
import { parseHostSpec } from '../ssh/config.js'
import { adminClient, fetchAuditEvents, type AuditFilters } from '../client/admin/api.js'
import type { ClientContext } from '../client/context.js'
import { parseTimeInput, TIME_INPUT_HELP } from '../client/admin/time-input.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import { jsonText } from '../client/terminal-text.js'
import { summarizeDetail } from './audit-detail.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { renderTable } from './table.js'

export interface AuditOptions {
  user?: string
  host?: string
  type?: string
  since?: string
  until?: string
  limit?: string
  oldestFirst?: boolean
  json?: boolean
  server?: string
}

export const DEFAULT_AUDIT_LIMIT = 100
const MAX_LIMIT = 100_000

export function registerAudit(program: Command, ctx: ClientContext, run: RunCommand<AuditOptions>): void {
  program
    .command('audit')
    .description('search the audit log (admins only): who did what, where and when; newest first')
    .option('--user <user>', 'events of this user (email or username)')
    .option('--host <host>', 'events for this host, e.g. prod-db-01.example.com')
    .option('--type <types>', 'event types, comma-separated: tunnel.open, cert.sign, ...; a family such as tunnel means tunnel.*')
    .option('--since <time>', `from this time on (local time unless a zone is given): ${TIME_INPUT_HELP}`)
    .option('--until <time>', 'before this time (same forms as --since)')
    .option('--limit <n>', `at most this many events (default ${DEFAULT_AUDIT_LIMIT})`)
    .option('--oldest-first', 'list the oldest matching events first')
    .option('--json', 'print JSON (for scripts): {events, more}')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: AuditOptions) => {
      await run(ctx, options)
    })
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_AUDIT_LIMIT
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) {
    throw new JitsshError('ERR_USAGE', `invalid --limit: ${JSON.stringify(value.slice(0, 20))} (a number from 1 to ${MAX_LIMIT})`)
  }
  return Number(value)
}

function parseHostFilter(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  try {
    return parseHostSpec(value, { allowPattern: false, allowPort: false }).host.toLowerCase()
  } catch (error) {
    throw new JitsshError('ERR_USAGE', `--host: ${(error instanceof Error ? error.message : String(error)).replace(/[\x00-\x1f\x7f]/g, '?')}`)
  }
}

function parseTypes(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const types = value.split(',').map((type) => type.trim().toLowerCase()).filter(Boolean)
  const bad = types.find((type) => !/^[a-z][a-z_]*(\.[a-z][a-z_]*)*$/.test(type))
  if (types.length === 0 || bad !== undefined) {
    throw new JitsshError('ERR_USAGE', `invalid --type: ${JSON.stringify((bad ?? value).slice(0, 40))}`, { hint: 'e.g. --type tunnel.open,cert.sign or --type tunnel' })
  }
  return types.join(',')
}

export async function auditCommand(ctx: ClientContext, options: AuditOptions): Promise<number> {
  // Every flag is checked before anything goes over the network.
  const timeZone = resolveTimeZone(ctx.env)
  const now = ctx.now()
  const limit = parseLimit(options.limit)
  const filters: AuditFilters = {
    ...(options.user !== undefined ? { user: options.user.trim() } : {}),
    ...(options.host !== undefined ? { host: parseHostFilter(options.host) } : {}),
    ...(options.type !== undefined ? { type: parseTypes(options.type) } : {}),
    ...(options.since !== undefined ? { since: parseTimeInput(options.since, '--since', now, timeZone) } : {}),
    ...(options.until !== undefined ? { until: parseTimeInput(options.until, '--until', now, timeZone) } : {}),
    order: options.oldestFirst === true ? 'asc' : 'desc',
  }
  if (filters.since !== undefined && filters.until !== undefined && filters.since >= filters.until) {
    throw new JitsshError('ERR_USAGE', `--since (${formatLocalTime(Date.parse(filters.since), timeZone)}) must be before --until (${formatLocalTime(Date.parse(filters.until), timeZone)})`)
  }
  const client = await adminClient(ctx, parseServerArg(options.server))
  const { events, more } = await fetchAuditEvents(client, filters, limit)
  if (options.json === true) {
    ctx.stdout.write(`${jsonText({ events, more })}\n`)
    return 0
  }
  if (events.length === 0) {
    ctx.stderr.write('No audit events match.\n')
    return 0
  }
  ctx.stdout.write(renderAuditTable(events, timeZone))
  if (more) ctx.stderr.write(`(showing the ${options.oldestFirst === true ? 'oldest' : 'newest'} ${events.length} matching events; raise --limit for more)\n`)
  return 0
}

export function renderAuditTable(events: AuditEvent[], timeZone: string): string {
  return renderTable(
    ['TIME', 'TYPE', 'OUTCOME', 'USER', 'HOST', 'DETAIL'],
    events.map((event) => [formatLocalTime(Date.parse(event.time), timeZone), event.type, event.outcome, event.user ?? '-', event.host ?? '-', summarizeDetail(event)]),
  )
}
