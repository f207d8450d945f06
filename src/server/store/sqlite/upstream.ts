import { toUpstreamGrant, type DbRow } from '../row-mappers.js'
import type { UpstreamGrantRow, UpstreamGrantStore } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteUpstreamGrants implements UpstreamGrantStore {
  constructor(private readonly db: SqliteDatabase) {}

  async create(row: UpstreamGrantRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO upstream_grants (id, sub, claims, refresh_token, auth_time, checked_at, ended_at, ended_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(row.id, row.sub, JSON.stringify(row.claims), row.refreshToken, row.authTime, row.checkedAt, row.endedAt, row.endedReason)
    })
  }

  async get(id: string): Promise<UpstreamGrantRow | undefined> {
    const row = this.db.sql('SELECT * FROM upstream_grants WHERE id = ?').get(id) as DbRow | undefined
    return row && toUpstreamGrant(row)
  }

  async claimCheck(id: string, lastCheckedAt: number, now: number): Promise<boolean> {
    return this.db.write(() => this.db.sql('UPDATE upstream_grants SET checked_at = ? WHERE id = ? AND checked_at = ? AND ended_at IS NULL').run(now, id, lastCheckedAt).changes === 1)
  }

  async update(id: string, change: { claims: Record<string, unknown>; refreshToken: string | null; checkedAt: number }): Promise<void> {
    return this.db.write(() => {
      this.db.sql('UPDATE upstream_grants SET claims = ?, refresh_token = ?, checked_at = ? WHERE id = ? AND ended_at IS NULL')
        .run(JSON.stringify(change.claims), change.refreshToken, change.checkedAt, id)
    })
  }

  async end(id: string, now: number, reason: string): Promise<boolean> {
    return this.db.write(() => this.db.sql('UPDATE upstream_grants SET ended_at = ?, ended_reason = ?, refresh_token = NULL WHERE id = ? AND ended_at IS NULL').run(now, reason, id).changes === 1)
  }
}
