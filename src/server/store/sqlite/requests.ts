import { ACCESS_REQUEST_COLUMNS, accessRequestValues, changeAssignments, placeholders, toAccessRequest, toAccessReview, type DbRow } from '../row-mappers.js'
import type { AccessRequestChange, AccessRequestRow, AccessRequestState, AccessRequestStore, AccessReviewRow, ReviewOutcome } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteAccessRequests implements AccessRequestStore {
  constructor(private readonly db: SqliteDatabase) {}

  async create(row: AccessRequestRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO access_requests (${ACCESS_REQUEST_COLUMNS}) VALUES ${placeholders(ACCESS_REQUEST_COLUMNS, 'sqlite')}`).run(...accessRequestValues(row, (value) => (value ? 1 : 0)))
    })
  }

  async get(id: string): Promise<{ request: AccessRequestRow; reviews: AccessReviewRow[] } | undefined> {
    const row = this.db.sql('SELECT * FROM access_requests WHERE id = ?').get(id) as DbRow | undefined
    return row && { request: toAccessRequest(row), reviews: this.reviewsOf(id) }
  }

  private reviewsOf(id: string): AccessReviewRow[] {
    return (this.db.sql('SELECT * FROM access_reviews WHERE request_id = ? ORDER BY at, reviewer').all(id) as DbRow[]).map(toAccessReview)
  }

  async list(filter: { requester?: string; states?: AccessRequestState[]; limit: number }): Promise<AccessRequestRow[]> {
    const states = filter.states ?? []
    const rows = this.db
      .sql(`SELECT * FROM access_requests WHERE (@requester IS NULL OR requester_sub = @requester)
        AND (@any_state = 1 OR state IN (SELECT value FROM json_each(@states))) ORDER BY created_at DESC, id LIMIT @limit`)
      .all({ requester: filter.requester ?? null, any_state: states.length === 0 ? 1 : 0, states: JSON.stringify(states), limit: filter.limit }) as DbRow[]
    return rows.map(toAccessRequest)
  }

  async countPending(requester: string): Promise<number> {
    return Number(this.db.sql(`SELECT count(*) FROM access_requests WHERE requester_sub = ? AND state = 'pending'`).pluck().get(requester))
  }

  async review(id: string, review: AccessReviewRow, decide: (request: AccessRequestRow, reviews: AccessReviewRow[]) => AccessRequestChange | undefined): Promise<ReviewOutcome> {
    // One writer at a time: the read, the insert and the transition below cannot interleave with another review.
    return this.db.write((): ReviewOutcome => {
      const row = this.db.sql('SELECT * FROM access_requests WHERE id = ?').get(id) as DbRow | undefined
      if (!row) return { outcome: 'unknown' }
      const request = toAccessRequest(row)
      const reviews = this.reviewsOf(id)
      if (reviews.some((existing) => existing.reviewer === review.reviewer)) return { outcome: 'duplicate', request, reviews }
      if (request.state !== 'pending' || review.at >= request.pendingUntil) return { outcome: 'closed', request, reviews }
      this.db.sql('INSERT INTO access_reviews (request_id, reviewer, reviewer_email, decision, reason, at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, review.reviewer, review.reviewerEmail, review.decision, review.reason, review.at)
      const all = [...reviews, review]
      const change = decide(request, all)
      if (!change) return { outcome: 'recorded', request, reviews: all }
      return { outcome: 'recorded', request: this.apply(id, ['pending'], change) ?? request, reviews: all }
    })
  }

  async transition(id: string, from: AccessRequestState[], change: AccessRequestChange): Promise<AccessRequestRow | undefined> {
    return this.db.write(() => this.apply(id, from, change))
  }

  async revoke(id: string, now: number, by: string, reason: string): Promise<AccessRequestRow | undefined> {
    // One process owns the file: the session service hears of it from the caller, no one else needs telling.
    return this.transition(id, ['approved', 'active'], { state: 'revoked', closedAt: now, closedBy: by, closedReason: reason })
  }

  private apply(id: string, from: AccessRequestState[], change: AccessRequestChange): AccessRequestRow | undefined {
    const { sql, values } = changeAssignments(change, () => '?')
    const row = this.db
      .sql(`UPDATE access_requests SET ${sql} WHERE id = ? AND state IN (SELECT value FROM json_each(?)) RETURNING *`)
      .get(...values, id, JSON.stringify(from)) as DbRow | undefined
    return row && toAccessRequest(row)
  }

  async sweep(now: number): Promise<Array<{ request: AccessRequestRow; from: AccessRequestState }>> {
    return this.db.write(() => {
      const changed: Array<{ request: AccessRequestRow; from: AccessRequestState }> = []
      const run = (from: AccessRequestState, where: string, change: AccessRequestChange): void => {
        const { sql, values } = changeAssignments(change, () => '?')
        const rows = this.db.sql(`UPDATE access_requests SET ${sql} WHERE state = ? AND ${where} RETURNING *`).all(...values, from, now) as DbRow[]
        for (const row of rows) changed.push({ request: toAccessRequest(row), from })
      }
      const closed = (reason: string) => ({ closedAt: now, closedBy: 'system', closedReason: reason })
      run('pending', 'pending_until <= ?', { state: 'expired', ...closed('not reviewed in time') })
      run('approved', 'claim_by <= ?', { state: 'expired', ...closed('not used by its claim-by deadline') })
      run('approved', 'ends_at <= ?', { state: 'expired', ...closed('not used before its end') })
      run('active', 'ends_at <= ?', { state: 'ended', ...closed('its time is up') })
      return changed
    })
  }

  async usable(requester: string, now: number): Promise<AccessRequestRow[]> {
    const rows = this.db
      .sql(`SELECT * FROM access_requests WHERE requester_sub = ? AND ends_at > ?
        AND (state = 'active' OR (state = 'approved' AND claim_by > ?)) ORDER BY approved_at`)
      .all(requester, now, now) as DbRow[]
    return rows.map(toAccessRequest)
  }
}
