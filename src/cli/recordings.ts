// jitssh recordings ls [--user U] [--host H] [--since T] [--until T] [--limit N] [--json] [--server URL]
// jitssh recordings export ID [--format cast|text] [--server URL]
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import { adminClient } from '../client/admin/api.js'
import { exportRecording, listRecordings, type RecordingFilters } from '../client/admin/recordings.js'
import type { ClientContext } from '../client/context.js'
import { parseTimeInput, TIME_INPUT_HELP } from '../client/admin/time-input.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { renderTable } from './table.js'

interface RecordingsCommonOptions {
  server?: string
}

export type RecordingsOptions =
  | ({ action: 'ls'; user?: string; host?: string; since?: string; until?: string; limit?: string; json?: boolean } & RecordingsCommonOptions)
  | ({ action: 'export'; id: string; format: string } & RecordingsCommonOptions)

export function registerRecordings(program: Command, ctx: ClientContext, run: RunCommand<RecordingsOptions>): void {
  const recordings = program.command('recordings').description('browser terminal recordings (admins and auditors)')
  const server = (command: Command): Command => command.option('--server <url>', 'the jitssh server (default: the last one logged in to)')
  server(
    recordings
      .command('ls')
      .description('list recordings, newest first')
      .option('--user <user>', 'recordings of this user (email or username)')
      .option('--host <host>', 'recordings of terminals to this host')
      .option('--since <time>', `started at or after this time (local time unless a zone is given): ${TIME_INPUT_HELP}`)
      .option('--until <time>', 'started before this time (same forms as --since)')
      .option('--limit <n>', 'at most this many (default 100, at most 1000)')
      .option('--json', 'print JSON (for scripts): {recordings}'),
  ).action(async (options: Omit<Extract<RecordingsOptions, { action: 'ls' }>, 'action'>) => {
    await run(ctx, { action: 'ls', ...options })
  })
  server(
    recordings
      .command('export')
      .description('print a recording: the asciicast v2 file (cast), or what the screen showed as plain text (text)')
      .argument('<id>', 'the recording (see: jitssh recordings ls)')
      .option('--format <format>', 'cast or text', 'cast'),
  ).action(async (id: string, options: { format: string; server?: string }) => {
    await run(ctx, { action: 'export', id, ...options })
  })
}

export async function recordingsCommand(ctx: ClientContext, options: RecordingsOptions): Promise<number> {
  return options.action === 'ls' ? listCommand(ctx, options) : exportCommand(ctx, options)
}

async function listCommand(ctx: ClientContext, options: Extract<RecordingsOptions, { action: 'ls' }>): Promise<number> {
  const timeZone = resolveTimeZone(ctx.env)
  const now = ctx.now()
  if (options.limit !== undefined && (!/^\d{1,4}$/.test(options.limit) || Number(options.limit) < 1 || Number(options.limit) > 1000)) {
    throw new JitsshError('ERR_USAGE', `invalid --limit: ${JSON.stringify(options.limit.slice(0, 20))} (a number from 1 to 1000)`)
  }
  const filters: RecordingFilters = {
    ...(options.user !== undefined ? { user: options.user.trim() } : {}),
    ...(options.host !== undefined ? { host: options.host.trim().toLowerCase() } : {}),
    ...(options.since !== undefined ? { since: parseTimeInput(options.since, '--since', now, timeZone) } : {}),
    ...(options.until !== undefined ? { until: parseTimeInput(options.until, '--until', now, timeZone) } : {}),
  }
  const client = await adminClient(ctx, parseServerArg(options.server))
  const recordings = await listRecordings(client, filters, Number(options.limit ?? 100))
  if (options.json === true) {
    ctx.stdout.write(`${JSON.stringify({ recordings }, null, 2)}\n`)
    return 0
  }
  if (recordings.length === 0) {
    ctx.stderr.write('No recordings match.\n')
    return 0
  }
  const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`)
  ctx.stdout.write(renderTable(
    ['ID', 'STARTED', 'USER', 'HOST', 'LOGIN', 'LENGTH', 'BYTES'],
    recordings.map((r) => [r.id, formatLocalTime(Date.parse(r.started_at), timeZone), r.user, r.host, r.login, seconds(r.duration_ms), r.size === null ? '-' : String(r.size)]),
  ))
  return 0
}

async function exportCommand(ctx: ClientContext, options: Extract<RecordingsOptions, { action: 'export' }>): Promise<number> {
  if (options.format !== 'cast' && options.format !== 'text') throw new JitsshError('ERR_USAGE', `invalid --format: ${JSON.stringify(options.format.slice(0, 20))} (cast or text)`)
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.id)) throw new JitsshError('ERR_USAGE', `invalid recording id: ${JSON.stringify(options.id.slice(0, 70))} (see: jitssh recordings ls)`)
  const client = await adminClient(ctx, parseServerArg(options.server))
  ctx.stdout.write(await exportRecording(client, options.id, options.format))
  return 0
}
