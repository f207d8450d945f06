import type { AttemptsSeen, ThrottleStore } from '../store.js'
import type { PostgresDatabase } from './database.js'

export class PostgresThrottles implements ThrottleStore {
  constructor(private readonly db: PostgresDatabase) {}

  async reserve(keys: string[], now: number, since: number, decide: (seen: AttemptsSeen[]) => boolean): Promise<boolean> {
    return this.db.transaction(async (client) => {
      // A transaction lock per key, taken in one order (no deadlocks), held until commit: on every replica,
      // reservations of the same key wait for each other.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest($1::text[]) AS key ORDER BY key', [[...new Set(keys)].sort()])
      const seen: AttemptsSeen[] = []
      for (const key of keys) {
        const { rows } = await client.query<{ count: string; last: string | null }>('SELECT count(*) AS count, max(at) AS last FROM login_failures WHERE key = $1 AND at >= $2', [key, since])
        seen.push({ count: Number(rows[0]?.count ?? 0), lastAt: rows[0]?.last === null || rows[0]?.last === undefined ? null : Number(rows[0].last) })
      }
      if (!decide(seen)) return false
      await client.query('INSERT INTO login_failures (key, at) SELECT unnest($1::text[]), $2', [keys, now])
      return true
    })
  }

  async release(keys: string[], at: number): Promise<void> {
    await this.db.query(
      `DELETE FROM login_failures WHERE ctid IN (
        SELECT (SELECT ctid FROM login_failures f WHERE f.key = k AND f.at = $2 LIMIT 1) FROM unnest($1::text[]) AS k)`,
      [keys, at],
    )
  }

  async recordFailure(key: string, now: number): Promise<void> {
    await this.db.query('INSERT INTO login_failures (key, at) VALUES ($1, $2)', [key, now])
  }

  async countFailures(key: string, since: number): Promise<number> {
    const [row] = await this.db.rows('SELECT count(*) AS n FROM login_failures WHERE key = $1 AND at >= $2', [key, since])
    return Number(row?.n ?? 0)
  }

  async clearFailures(key: string): Promise<void> {
    await this.db.query('DELETE FROM login_failures WHERE key = $1', [key])
  }
}
