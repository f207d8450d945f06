import { toUpstreamGrant } from '../row-mappers.js'
import type { UpstreamGrantRow, UpstreamGrantStore } from '../store.js'
import type { PostgresDatabase } from './database.js'

export class PostgresUpstreamGrants implements UpstreamGrantStore {
  constructor(private readonly db: PostgresDatabase) {}

  async create(row: UpstreamGrantRow): Promise<void> {
    await this.db.query(
      'INSERT INTO upstream_grants (id, sub, claims, refresh_token, auth_time, checked_at, ended_at, ended_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [row.id, row.sub, JSON.stringify(row.claims), row.refreshToken, row.authTime, row.checkedAt, row.endedAt, row.endedReason],
    )
  }

  async get(id: string): Promise<UpstreamGrantRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM upstream_grants WHERE id = $1', [id])
    return row && toUpstreamGrant(row)
  }

  async claimCheck(id: string, lastCheckedAt: number, now: number): Promise<boolean> {
    const result = await this.db.query('UPDATE upstream_grants SET checked_at = $3 WHERE id = $1 AND checked_at = $2 AND ended_at IS NULL', [id, lastCheckedAt, now])
    return result.rowCount === 1
  }

  async update(id: string, change: { claims: Record<string, unknown>; refreshToken: string | null; checkedAt: number }): Promise<void> {
    await this.db.query('UPDATE upstream_grants SET claims = $2, refresh_token = $3, checked_at = $4 WHERE id = $1 AND ended_at IS NULL', [
      id, JSON.stringify(change.claims), change.refreshToken, change.checkedAt,
    ])
  }

  async end(id: string, now: number, reason: string): Promise<boolean> {
    const result = await this.db.query('UPDATE upstream_grants SET ended_at = $2, ended_reason = $3, refresh_token = NULL WHERE id = $1 AND ended_at IS NULL', [id, now, reason])
    return result.rowCount === 1
  }
}
