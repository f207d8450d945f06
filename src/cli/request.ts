// jitssh request create|break-glass|ls|show|wait|cancel|review|revoke: just-in-time access requests.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import type { AccessRequestView, CreateAccessRequest } from '../shared/protocol.js'
import { apiClient, type ApiClient } from '../client/api-client.js'
import type { ClientContext } from '../client/context.js'
import { CREATED_REQUEST_ANSWER, REQUEST_ANSWER, REQUEST_LIST_ANSWER } from '../client/person-answers.js'
import { firstLine, jsonText, terminalSafeDeep } from '../client/terminal-text.js'
import { formatDuration, parseDuration } from '../shared/duration.js'
import { JitsshError } from '../shared/errors.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import type { RunCommand } from './command.js'
import { parseHostArg, parseServerArg } from './host-arg.js'
import { createUi } from './output.js'
import { renderTable } from './table.js'

interface Common {
  json?: boolean
  server?: string
}

interface Asking extends Common {
  host: string
  login?: string
  duration: string
  reason?: string
}

export type RequestOptions =
  | ({ action: 'create'; wait?: boolean; dryRun?: boolean } & Asking)
  | ({ action: 'break-glass' } & Asking)
  | ({ action: 'ls'; review?: boolean; all?: boolean } & Common)
  | ({ action: 'show'; id: string } & Common)
  | ({ action: 'wait'; id: string } & Common)
  | ({ action: 'cancel'; id: string; reason?: string } & Common)
  | ({ action: 'review'; id: string; approve?: boolean; deny?: boolean; reason?: string } & Common)
  | ({ action: 'revoke'; id: string; reason?: string } & Common)

const SERVER_OPTION = ['--server <url>', 'the jitssh server (default: the last one logged in to)'] as const
/** How often `--wait` asks again. */
const WAIT_POLL_MS = 1_000

export function registerRequest(program: Command, ctx: ClientContext, run: RunCommand<RequestOptions>): void {
  const request = program.command('request').description('ask for access to a host for a while, and review such requests (approvers)')
  const common = (command: Command): Command => command.option('--json', 'print JSON (for scripts)').option(...SERVER_OPTION)
  const asking = (command: Command): Command =>
    common(
      command
        .requiredOption('--host <host>', 'the host (or a pattern within your rule, e.g. "db-*.prod.example.com")')
        .option('--login <name>', 'the account to log in as (needed when the rule grants several)')
        .requiredOption('--duration <duration>', 'how long, from the approval: e.g. 30m, 2h (the rule caps it)')
        .option('--reason <text>', 'why: a ticket and what you will do (most rules require it)'),
    )
  asking(request.command('create').description('ask for access; approvers are told, and the grant starts when approved'))
    .option('--wait', 'wait until it is approved (or denied) and say when access is usable')
    .option('--dry-run', 'check the request and say what would happen, without asking')
    .action(async (options: Omit<Extract<RequestOptions, { action: 'create' }>, 'action'>) => run(ctx, { action: 'create', ...options }).then(() => undefined))
  asking(request.command('break-glass').description('take access now without approval (only for the rule\'s break-glass people; approvers are told)'))
    .action(async (options: Asking) => run(ctx, { action: 'break-glass', ...options }).then(() => undefined))
  common(request.command('ls').description('list your requests, newest first'))
    .option('--review', 'list the pending requests you may approve instead')
    .option('--all', 'list everyone\'s requests (admins)')
    .action(async (options: Common & { review?: boolean; all?: boolean }) => run(ctx, { action: 'ls', ...options }).then(() => undefined))
  for (const [name, description] of [['show', 'show one request: its state, reviews and times'], ['wait', 'wait until a request is decided and say when access is usable']] as const) {
    common(request.command(name).description(description).argument('<id>', 'the request id (req-...)'))
      .action(async (id: string, options: Common) => run(ctx, { action: name, id, ...options }).then(() => undefined))
  }
  common(request.command('cancel').description('take back a pending request of yours').argument('<id>', 'the request id'))
    .option('--reason <text>', 'why, for the audit log')
    .action(async (id: string, options: Common & { reason?: string }) => run(ctx, { action: 'cancel', id, ...options }).then(() => undefined))
  common(request.command('review').description('approve or deny a request (its rule\'s approvers; never your own)').argument('<id>', 'the request id'))
    .option('--approve', 'approve it')
    .option('--deny', 'deny it (a reason is required)')
    .option('--reason <text>', 'why, shown to the requester and kept in the audit log')
    .action(async (id: string, options: Common & { approve?: boolean; deny?: boolean; reason?: string }) => run(ctx, { action: 'review', id, ...options }).then(() => undefined))
  common(request.command('revoke').description('end a grant before its time (its requester, approvers, admins): tunnels close, certificates go on the KRL').argument('<id>', 'the request id'))
    .option('--reason <text>', 'why, for the audit log')
    .action(async (id: string, options: Common & { reason?: string }) => run(ctx, { action: 'revoke', id, ...options }).then(() => undefined))
}

export async function requestCommand(ctx: ClientContext, options: RequestOptions): Promise<number> {
  const client = await apiClient(ctx, parseServerArg(options.server), 'person')
  switch (options.action) {
    case 'create':
    case 'break-glass':
      return ask(ctx, client, options)
    case 'ls': {
      const scope = options.all === true ? 'all' : options.review === true ? 'review' : 'mine'
      const answer = await client.get(REQUEST_LIST_ANSWER, 'requests', { scope, limit: '100' })
      if (options.json === true) return print(ctx, answer)
      const list = terminalSafeDeep(answer)
      if (list.requests.length === 0) {
        ctx.stderr.write(scope === 'review' ? 'Nothing is waiting for your review.\n' : 'No access requests.\n')
        return 0
      }
      const timeZone = resolveTimeZone(ctx.env)
      ctx.stdout.write(renderTable(['ID', 'STATE', 'REQUESTER', 'ACCESS', 'FOR', 'UNTIL', 'REASON'], list.requests.map((request) => [
        request.id, request.state, request.requester, `${request.login}@${request.host}`, formatDuration(request.duration_seconds * 1000),
        request.ends_at ? formatLocalTime(Date.parse(request.ends_at), timeZone) : '-', clip(request.reason ?? '', 40),
      ])))
      return 0
    }
    case 'show': {
      const request = await client.get(REQUEST_ANSWER, `requests/${requestId(options.id)}`)
      if (options.json === true) return print(ctx, request)
      ctx.stdout.write(describe(ctx, terminalSafeDeep(request)))
      return 0
    }
    case 'wait':
      return waitFor(ctx, client, requestId(options.id), options.json === true)
    case 'cancel': {
      const request = await client.post(REQUEST_ANSWER, `requests/${requestId(options.id)}/cancel`, { ...(options.reason !== undefined ? { reason: options.reason } : {}) })
      if (options.json === true) return print(ctx, request)
      ctx.stdout.write(`Cancelled ${request.id}.\n`)
      return 0
    }
    case 'review': {
      if (options.approve === options.deny) throw new JitsshError('ERR_USAGE', 'say --approve or --deny (one of them)')
      const decision = options.approve === true ? 'approve' : 'deny'
      const answer = await client.post(REQUEST_ANSWER, `requests/${requestId(options.id)}/review`, { decision, ...(options.reason !== undefined ? { reason: options.reason } : {}) })
      if (options.json === true) return print(ctx, answer)
      const request = terminalSafeDeep(answer)
      const outcome = request.state === 'approved'
        ? `approved: ${request.requester} may use ${request.login}@${request.host} until ${localTime(ctx, request.ends_at)}`
        : request.state === 'denied' ? 'denied' : `your approval is in: ${request.approvals} of ${request.approvals_required} (still pending)`
      ctx.stdout.write(`${request.id} ${outcome}.\n`)
      return 0
    }
    case 'revoke': {
      const request = await client.post(REQUEST_ANSWER, `requests/${requestId(options.id)}/revoke`, { ...(options.reason !== undefined ? { reason: options.reason } : {}) })
      if (options.json === true) return print(ctx, request)
      ctx.stdout.write(`Revoked ${request.id}: its tunnels are closed and its certificates are on the KRL.\n`)
      return 0
    }
  }
}

async function ask(ctx: ClientContext, client: ApiClient, options: Extract<RequestOptions, { action: 'create' | 'break-glass' }>): Promise<number> {
  const host = parseHostArg(options.host, { allowPattern: true, allowPort: false }).host.toLowerCase()
  const durationMs = parseDuration(options.duration)
  if (durationMs === undefined || durationMs < 10_000 || durationMs % 1000 !== 0) throw new JitsshError('ERR_USAGE', `--duration: expected a duration of at least 10s like 30m or 2h, not ${JSON.stringify(firstLine(options.duration).slice(0, 20))}`)
  const dryRun = options.action === 'create' && options.dryRun === true
  const body: CreateAccessRequest = {
    host, duration_seconds: durationMs / 1000,
    ...(options.login !== undefined ? { login: options.login } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    ...(options.action === 'break-glass' ? { break_glass: true } : {}),
    ...(dryRun ? { dry_run: true } : {}),
  }
  const answer = await client.post(CREATED_REQUEST_ANSWER, 'requests', body)
  if (options.json === true && !(options.action === 'create' && options.wait === true)) return print(ctx, answer)
  const created = terminalSafeDeep(answer)
  const { request } = created
  const what = `${request.login}@${request.host} for ${formatDuration(request.duration_seconds * 1000)}`
  if (dryRun) {
    const decided = created.auto_approved ? 'it would be approved at once (the rule approves it now)' : `it would need ${request.approvals_required} approval(s) from: ${created.approvers.join(', ')}`
    ctx.stdout.write(`Dry run: a request for ${what} under rule "${request.rule}" is valid; ${decided}. Nothing was sent to approvers.\n`)
    return 0
  }
  if (request.state === 'approved') {
    const how = request.break_glass ? 'Break-glass access granted' : 'Approved at once'
    ctx.stdout.write(`${how}: ${request.id}, ${what}, usable until ${localTime(ctx, request.ends_at)}${request.break_glass ? ' (approvers are notified)' : ''}.\n`)
    return 0
  }
  ctx.stdout.write(`Requested ${request.id}: ${what}; waiting for ${request.approvals_required} approval(s) from ${created.approvers.join(', ')}.\n`)
  ctx.stdout.write(`Review page: ${request.review_url}\n`)
  if (options.action === 'create' && options.wait === true) return waitFor(ctx, client, request.id, options.json === true)
  ctx.stderr.write(`See its state with: jitssh request show ${request.id} (or wait: jitssh request wait ${request.id})\n`)
  return 0
}

/** Polls until the request leaves `pending`; exit 0 when the grant is usable, 1 otherwise. */
async function waitFor(ctx: ClientContext, client: ApiClient, id: string, json: boolean): Promise<number> {
  const stop = json ? () => undefined : createUi(ctx).waiting(`Waiting for approval of ${id} (Ctrl-C stops waiting; the request stays)`)
  let request: AccessRequestView
  try {
    for (;;) {
      request = await client.get(REQUEST_ANSWER, `requests/${id}`)
      if (request.state !== 'pending') break
      await sleep(WAIT_POLL_MS, undefined, { signal: ctx.signal }).catch(() => {
        throw new JitsshError('ERR_INTERRUPTED', `stopped waiting; ${id} is still pending (jitssh request wait ${id})`)
      })
    }
  } finally {
    stop()
  }
  if (json) {
    ctx.stdout.write(`${jsonText(request)}\n`)
    return request.state === 'approved' || request.state === 'active' ? 0 : 1
  }
  request = terminalSafeDeep(request)
  if (request.state === 'approved' || request.state === 'active') {
    ctx.stdout.write(`Approved: ${request.login}@${request.host} is usable now, until ${localTime(ctx, request.ends_at)} (use it by ${localTime(ctx, request.claim_by)}).\n`)
    return 0
  }
  const why = request.closed_reason ? `: ${firstLine(request.closed_reason)}` : ''
  ctx.stdout.write(`${request.id} was ${request.state}${request.closed_by && request.closed_by !== 'system' ? ` by ${firstLine(request.closed_by)}` : ''}${why}.\n`)
  return 1
}

function describe(ctx: ClientContext, request: AccessRequestView): string {
  const lines: Array<[string, string]> = [
    ['id', request.id],
    ['state', `${request.state}${request.break_glass ? ' (break-glass)' : ''}`],
    ['requester', request.requester],
    ['access', `${request.login}@${request.host} for ${formatDuration(request.duration_seconds * 1000)} (rule "${request.rule}")`],
    ['reason', firstLine(request.reason ?? '-')],
    ['approvals', `${request.approvals} of ${request.approvals_required}`],
    ['created', localTime(ctx, request.created_at)],
  ]
  if (request.state === 'pending') lines.push(['decide by', localTime(ctx, request.pending_until)])
  if (request.approved_at) lines.push(['approved', localTime(ctx, request.approved_at)], ['use by', localTime(ctx, request.claim_by)], ['ends', localTime(ctx, request.ends_at)])
  if (request.closed_at) lines.push(['closed', `${localTime(ctx, request.closed_at)} by ${firstLine(request.closed_by ?? '-')}${request.closed_reason ? `: ${firstLine(request.closed_reason)}` : ''}`])
  for (const review of request.reviews) lines.push(['review', `${review.decision} by ${firstLine(review.reviewer)} at ${localTime(ctx, review.at)}${review.reason ? `: ${firstLine(review.reason)}` : ''}`])
  if (request.can_review) lines.push(['you may', `review it: jitssh request review ${request.id} --approve|--deny --reason "..."`])
  lines.push(['page', request.review_url])
  const width = Math.max(...lines.map(([label]) => label.length))
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join('')
}

function print(ctx: ClientContext, value: unknown): number {
  ctx.stdout.write(`${jsonText(value)}\n`)
  return 0
}

function localTime(ctx: ClientContext, iso: string | null): string {
  return iso === null ? '-' : formatLocalTime(Date.parse(iso), resolveTimeZone(ctx.env))
}

function clip(text: string, width: number): string {
  const line = firstLine(text)
  return line.length > width ? `${line.slice(0, width - 1)}…` : line
}

/** A request id as typed (req- and 10 characters), so nothing else reaches a URL path. */
function requestId(id: string): string {
  const trimmed = id.trim().toLowerCase()
  if (!/^req-[a-z0-9]{10}$/.test(trimmed)) throw new JitsshError('ERR_USAGE', `not a request id: ${JSON.stringify(firstLine(id).slice(0, 40))} (they look like req-k3x9p2mzq4)`)
  return trimmed
}
