import { createHash } from 'node:crypto'
import { JitsshError } from '../../shared/errors.js'
import type { AuditEvent, AuditPage } from '../../shared/protocol.js'
import { requestedHost } from '../http/request-fields.js'
import type { Uses } from '../context.js'
import type { AuditQuery, AuditRecord } from '../store/store.js'
import { resolveUserEmail } from './user-names.js'

export type AuditQueryDeps = Uses<'config', 'admin'>

export const DEFAULT_AUDIT_LIMIT = 100
export const MAX_AUDIT_LIMIT = 1000

/** The query string of `GET /v1/admin/audit`. */
export interface AuditSearchParams {
  user?: unknown
  host?: unknown
  type?: unknown
  since?: unknown
  until?: unknown
  limit?: unknown
  cursor?: unknown
  order?: unknown
}

const TYPE_SHAPE = /^[a-z][a-z_]*(\.[a-z][a-z_]*)*$/
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i
const UNIX_TIME = /^\d{1,12}(\.\d{1,6})?$/

/** A query parameter given at most once: its value, or undefined when absent or empty. */
export function singleParam(value: unknown, name: string): string | undefined {
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string') throw new JitsshError('ERR_BAD_REQUEST', `${name} may be given once`)
  return value
}

/**
 * `since`/`until`: ISO 8601 with a zone (`2026-11-19T14:00:00+01:00`, `...Z`), a date alone (UTC midnight),
 * or Unix seconds. Returns the stored form: ISO 8601 UTC with milliseconds, which sorts as time does.
 */
export function parseTimeParam(value: string, name: string): string {
  let ms: number
  const iso = ISO_TIME.exec(value)
  if (UNIX_TIME.test(value)) {
    ms = Math.round(Number(value) * 1000)
  } else if (iso) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = iso
    const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`
    ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac ? frac.slice(0, 4).padEnd(4, '0') : ''}${offset}`)
    // Date.parse rolls 2026-02-30 over to March; a real date survives the round trip.
    const sameDay = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)))
    if (sameDay.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) ms = Number.NaN
  } else {
    ms = Number.NaN
  }
  if (!Number.isFinite(ms) || ms < 0 || ms >= Date.UTC(10000, 0, 1)) {
    throw new JitsshError('ERR_BAD_REQUEST', `${name} must be ISO 8601 with a zone (2026-11-19T14:00:00+01:00) or Unix seconds, not ${JSON.stringify(value.slice(0, 40))}`)
  }
  return new Date(ms).toISOString()
}

function parseTypes(value: unknown): string[] | undefined {
  const list = (Array.isArray(value) ? value : [value]).flatMap((item) => (item === undefined || item === '' ? [] : String(item).split(',')))
  const types = list.map((type) => type.trim().toLowerCase()).filter((type) => type !== '')
  if (types.length === 0) return undefined
  if (types.length > 20) throw new JitsshError('ERR_BAD_REQUEST', 'type: at most 20 event types')
  for (const type of types) {
    if (!TYPE_SHAPE.test(type) || type.length > 64) throw new JitsshError('ERR_BAD_REQUEST', `type: ${JSON.stringify(type.slice(0, 40))} is not an event type (e.g. tunnel.open, or tunnel for tunnel.*)`)
  }
  return [...new Set(types)]
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_AUDIT_LIMIT
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1) throw new JitsshError('ERR_BAD_REQUEST', `limit must be a number from 1 to ${MAX_AUDIT_LIMIT}`)
  return Math.min(Number(value), MAX_AUDIT_LIMIT)
}

/** A cursor is opaque to clients: the last seq of the page, the order, and a digest of the filters it belongs to. */
interface Cursor {
  seq: number
  order: 'asc' | 'desc'
  filters: string
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([1, cursor.seq, cursor.order, cursor.filters])).toString('base64url')
}

function decodeCursor(value: string): Cursor {
  try {
    const [version, seq, order, filters] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[]
    if (version === 1 && Number.isSafeInteger(seq) && (order === 'asc' || order === 'desc') && typeof filters === 'string') {
      return { seq: seq as number, order, filters }
    }
  } catch {
    // fall through
  }
  throw new JitsshError('ERR_BAD_REQUEST', 'cursor is not valid: pass next_cursor from the previous page unchanged')
}

function filterDigest(query: Omit<AuditQuery, 'limit' | 'afterSeq' | 'order'>): string {
  const key = JSON.stringify([query.user ?? null, query.host ?? null, query.types ?? null, query.since ?? null, query.until ?? null])
  return createHash('sha256').update(key).digest('base64url').slice(0, 16)
}

export interface ParsedAuditSearch {
  query: AuditQuery
  filters: string
}

/** Who, where and when of a search (the audit log's, the recordings'): a user (email or username), a host, a time range (ISO, UTC). */
export async function parseWhoWhereWhen(ctx: AuditQueryDeps, params: Pick<AuditSearchParams, 'user' | 'host' | 'since' | 'until'>): Promise<{ user?: string; host?: string; since?: string; until?: string }> {
  const [user, host, since, until] = (['user', 'host', 'since', 'until'] as const).map((name) => singleParam(params[name], name))
  return {
    ...(user !== undefined ? { user: await resolveUserEmail(ctx, user) } : {}),
    ...(host !== undefined ? { host: requestedHost(host) } : {}),
    ...(since !== undefined ? { since: parseTimeParam(since, 'since') } : {}),
    ...(until !== undefined ? { until: parseTimeParam(until, 'until') } : {}),
  }
}

export async function parseAuditSearch(ctx: AuditQueryDeps, params: AuditSearchParams): Promise<ParsedAuditSearch> {
  const orderParam = singleParam(params.order, 'order')
  const cursorParam = singleParam(params.cursor, 'cursor')
  if (orderParam !== undefined && orderParam !== 'asc' && orderParam !== 'desc') {
    throw new JitsshError('ERR_BAD_REQUEST', 'order must be desc (newest first, the default) or asc (oldest first)')
  }
  const filters = { ...(await parseWhoWhereWhen(ctx, params)), ...(params.type !== undefined ? { types: parseTypes(params.type) } : {}) }
  const digest = filterDigest(filters)
  const cursor = cursorParam === undefined ? undefined : decodeCursor(cursorParam)
  if (cursor && cursor.filters !== digest) throw new JitsshError('ERR_BAD_REQUEST', 'cursor belongs to a search with other filters: repeat the same filters with it')
  if (cursor && orderParam !== undefined && cursor.order !== orderParam) throw new JitsshError('ERR_BAD_REQUEST', 'cursor belongs to a search in the other order')
  const order = cursor?.order ?? (orderParam as 'asc' | 'desc' | undefined) ?? 'desc'
  const limit = parseLimit(singleParam(params.limit, 'limit'))
  return { query: { ...filters, order, limit, ...(cursor ? { afterSeq: cursor.seq } : {}) }, filters: digest }
}

export function toAuditEvent(record: AuditRecord): AuditEvent {
  return {
    seq: record.seq, time: record.time, type: record.type, user: record.user, session_id: record.sessionId, host: record.host,
    outcome: record.outcome, detail: record.detail, hash: record.hash,
  }
}

/** Runs the search, asking for one more than the limit to know whether there is a next page. */
export async function searchAuditPage(ctx: AuditQueryDeps, search: ParsedAuditSearch): Promise<AuditPage> {
  const { query } = search
  const records = await ctx.store.admin.searchAudit({ ...query, limit: query.limit + 1 })
  const page = records.slice(0, query.limit)
  const last = page[page.length - 1]
  const more = records.length > query.limit && last !== undefined
  return {
    events: page.map(toAuditEvent),
    next_cursor: more ? encodeCursor({ seq: last.seq, order: query.order, filters: search.filters }) : null,
  }
}
