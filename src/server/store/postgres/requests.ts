import { ACCESS_REQUEST_COLUMNS, accessRequestValues, changeAssignments, placeholders, toAccessRequest, toAccessReview } from '../row-mappers.js'
import type { AccessRequestChange, AccessRequestRow, AccessRequestState, AccessRequestStore, AccessReviewRow, ReviewOutcome } from '../store.js'
import type { PostgresDatabase } from './database.js'
import { REVOCATION_CHANNEL, revocationPayload } from './revocation-listener.js'

const dollar = (index: number): string => `$${index}`

export class PostgresAccessRequests implements AccessRequestStore {
  /** `origin`: this store instance in NOTIFY payloads, so it can ignore its own. */
  constructor(
    private readonly db: PostgresDatabase,
    private readonly origin: string,
  ) {}

  async create(row: AccessRequestRow): Promise<void> {
    await this.db.query(`INSERT INTO access_requests (${ACCESS_REQUEST_COLUMNS}) VALUES ${placeholders(ACCESS_REQUEST_COLUMNS, 'postgres')}`, accessRequestValues(row, (value) => value))
  }

  async get(id: string): Promise<{ request: AccessRequestRow; reviews: AccessReviewRow[] } | undefined> {
    const [row] = await this.db.rows('SELECT * FROM access_requests WHERE id = $1', [id])
    if (!row) return undefined
    const reviews = await this.db.rows('SELECT * FROM access_reviews WHERE request_id = $1 ORDER BY at, reviewer', [id])
    return { request: toAccessRequest(row), reviews: reviews.map(toAccessReview) }
  }

  async list(filter: { requester?: string; states?: AccessRequestState[]; limit: number }): Promise<AccessRequestRow[]> {
    const states = filter.states ?? []
    const rows = await this.db.rows(
      `SELECT * FROM access_requests WHERE ($1::text IS NULL OR requester_sub = $1) AND (cardinality($2::text[]) = 0 OR state = ANY($2::text[]))
        ORDER BY created_at DESC, id LIMIT $3`,
      [filter.requester ?? null, states, filter.limit],
    )
    return rows.map(toAccessRequest)
  }

  async countPending(requester: string): Promise<number> {
    const [row] = await this.db.rows(`SELECT count(*) AS n FROM access_requests WHERE requester_sub = $1 AND state = 'pending'`, [requester])
    return Number(row?.n ?? 0)
  }

  async review(id: string, review: AccessReviewRow, decide: (request: AccessRequestRow, reviews: AccessReviewRow[]) => AccessRequestChange | undefined): Promise<ReviewOutcome> {
    return this.db.transaction(async (client) => {
      // The row lock orders reviews of one request across replicas: each sees the reviews committed before it.
      const locked = await client.query('SELECT * FROM access_requests WHERE id = $1 FOR UPDATE', [id])
      if (locked.rows.length === 0) return { outcome: 'unknown' } as const
      const request = toAccessRequest(locked.rows[0]!)
      const reviews = (await client.query('SELECT * FROM access_reviews WHERE request_id = $1 ORDER BY at, reviewer', [id])).rows.map(toAccessReview)
      if (reviews.some((existing) => existing.reviewer === review.reviewer)) return { outcome: 'duplicate', request, reviews } as const
      if (request.state !== 'pending' || review.at >= request.pendingUntil) return { outcome: 'closed', request, reviews } as const
      await client.query('INSERT INTO access_reviews (request_id, reviewer, reviewer_email, decision, reason, at) VALUES ($1, $2, $3, $4, $5, $6)', [
        id, review.reviewer, review.reviewerEmail, review.decision, review.reason, review.at,
      ])
      const all = [...reviews, review]
      const change = decide(request, all)
      if (!change) return { outcome: 'recorded', request, reviews: all } as const
      const { sql, values } = changeAssignments(change, dollar, 2)
      const updated = await client.query(`UPDATE access_requests SET ${sql} WHERE id = $1 RETURNING *`, [id, ...values])
      return { outcome: 'recorded', request: toAccessRequest(updated.rows[0]!), reviews: all } as const
    })
  }

  async transition(id: string, from: AccessRequestState[], change: AccessRequestChange): Promise<AccessRequestRow | undefined> {
    const { sql, values } = changeAssignments(change, dollar, 3)
    const [row] = await this.db.rows(`UPDATE access_requests SET ${sql} WHERE id = $1 AND state = ANY($2::text[]) RETURNING *`, [id, from, ...values])
    return row && toAccessRequest(row)
  }

  /** The revocation and its NOTIFY are one statement: other replicas hear of it exactly when it commits. */
  async revoke(id: string, now: number, by: string, reason: string): Promise<AccessRequestRow | undefined> {
    const [row] = await this.db.rows(
      `WITH revoked AS (UPDATE access_requests SET state = 'revoked', closed_at = $2, closed_by = $3, closed_reason = $4
          WHERE id = $1 AND state IN ('approved', 'active') RETURNING *),
        notified AS (SELECT pg_notify('${REVOCATION_CHANNEL}', $5) FROM revoked)
      SELECT revoked.* FROM revoked, notified`,
      [id, now, by, reason, revocationPayload(this.origin, { kind: 'grant', grantId: id, reason })],
    )
    return row && toAccessRequest(row)
  }

  async sweep(now: number): Promise<Array<{ request: AccessRequestRow; from: AccessRequestState }>> {
    const changed: Array<{ request: AccessRequestRow; from: AccessRequestState }> = []
    const closed = (reason: string) => ({ closedAt: now, closedBy: 'system', closedReason: reason })
    const steps: Array<[AccessRequestState, string, AccessRequestChange]> = [
      ['pending', 'pending_until <= $2', { state: 'expired', ...closed('not reviewed in time') }],
      ['approved', 'claim_by <= $2', { state: 'expired', ...closed('not used by its claim-by deadline') }],
      ['approved', 'ends_at <= $2', { state: 'expired', ...closed('not used before its end') }],
      ['active', 'ends_at <= $2', { state: 'ended', ...closed('its time is up') }],
    ]
    // Each UPDATE is atomic: of two replicas sweeping at once, each row goes to exactly one of them.
    for (const [from, where, change] of steps) {
      const { sql, values } = changeAssignments(change, dollar, 3)
      const rows = await this.db.rows(`UPDATE access_requests SET ${sql} WHERE state = $1 AND ${where} RETURNING *`, [from, now, ...values])
      for (const row of rows) changed.push({ request: toAccessRequest(row), from })
    }
    return changed
  }

  async usable(requester: string, now: number): Promise<AccessRequestRow[]> {
    const rows = await this.db.rows(
      `SELECT * FROM access_requests WHERE requester_sub = $1 AND ends_at > $2
        AND (state = 'active' OR (state = 'approved' AND claim_by > $2)) ORDER BY approved_at`,
      [requester, now],
    )
    return rows.map(toAccessRequest)
  }
}
