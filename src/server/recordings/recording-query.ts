import { Readable } from 'node:stream'
import { JitsshError } from '../../shared/errors.js'
import type { RecordingInfo } from '../../shared/protocol.js'
import { parseWhoWhereWhen, singleParam } from '../admin/audit-query.js'
import type { Uses } from '../context.js'
import type { RecordingQuery, RecordingRow, RecordingStore } from '../store/store.js'

export type RecordingQueryDeps = Uses<'config', 'admin'>

/** `?user=&host=&since=&until=&limit=` of the recordings list, as the page's form and the CLI send them. */
export interface RecordingSearchParams {
  user?: unknown
  host?: unknown
  since?: unknown
  until?: unknown
  limit?: unknown
}

const RECORDING_ID = /^[A-Za-z0-9_-]{1,64}$/

/** The filters, checked: a user by email or username, a host name, times as the audit search takes them. */
export async function parseRecordingSearch(ctx: RecordingQueryDeps, params: RecordingSearchParams): Promise<RecordingQuery> {
  const limit = singleParam(params.limit, 'limit')
  if (limit !== undefined && (!/^\d{1,4}$/.test(limit) || Number(limit) < 1)) throw new JitsshError('ERR_BAD_REQUEST', 'limit must be a number from 1 to 1000')
  const { user, host, since, until } = await parseWhoWhereWhen(ctx, params)
  return {
    ...(user !== undefined ? { userEmail: user } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(since !== undefined ? { since: Date.parse(since) } : {}),
    ...(until !== undefined ? { until: Date.parse(until) } : {}),
    limit: Math.min(Number(limit ?? 100), 1000),
  }
}

/** A recording by id, or ERR_NOT_FOUND. */
export async function findRecording(store: Pick<RecordingStore, 'get'>, id: unknown): Promise<RecordingRow> {
  const row = typeof id === 'string' && RECORDING_ID.test(id) ? await store.get(id) : undefined
  if (!row) throw new JitsshError('ERR_NOT_FOUND', 'no such recording (it may have been purged: recordings.retention)')
  return row
}

export function toRecordingInfo(row: RecordingRow): RecordingInfo {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())
  return {
    id: row.id, user: row.userEmail, host: row.host, login: row.login, session_id: row.sessionId, started_at: iso(row.startedAt)!, ended_at: iso(row.endedAt),
    duration_ms: row.durationMs, size: row.size, sha256: row.sha256, record_input: row.recordInput,
  }
}

/** The .cast file, read from the store a page of chunks at a time (memory stays bounded however long it is). */
export function castStream(store: Pick<RecordingStore, 'chunks'>, id: string): Readable {
  return Readable.from(
    (async function* chunks() {
      let after = -1
      for (;;) {
        const page = await store.chunks(id, after, 16)
        if (page.length === 0) return
        for (const chunk of page) yield Buffer.from(chunk.data, 'utf8')
        after = page[page.length - 1]!.seq
      }
    })(),
  )
}
