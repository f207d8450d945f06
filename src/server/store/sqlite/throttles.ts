import type { AttemptsSeen, ThrottleStore } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteThrottles implements ThrottleStore {
  constructor(private readonly db: SqliteDatabase) {}

  async reserve(keys: string[], now: number, since: number, decide: (seen: AttemptsSeen[]) => boolean): Promise<boolean> {
    // One writer at a time (the write transaction): counting, deciding and recording cannot interleave.
    return this.db.write(() => {
      const seen = keys.map((key) => {
        const row = this.db.sql('SELECT count(*) AS count, max(at) AS last FROM login_failures WHERE key = ? AND at >= ?').get(key, since) as { count: number; last: number | null }
        return { count: row.count, lastAt: row.last }
      })
      if (!decide(seen)) return false
      for (const key of keys) this.db.sql('INSERT INTO login_failures (key, at) VALUES (?, ?)').run(key, now)
      return true
    })
  }

  async release(keys: string[], at: number): Promise<void> {
    return this.db.write(() => {
      for (const key of keys) this.db.sql('DELETE FROM login_failures WHERE rowid IN (SELECT rowid FROM login_failures WHERE key = ? AND at = ? LIMIT 1)').run(key, at)
    })
  }

  async recordFailure(key: string, now: number): Promise<void> {
    return this.db.write(() => {
      this.db.sql('INSERT INTO login_failures (key, at) VALUES (?, ?)').run(key, now)
    })
  }

  async countFailures(key: string, since: number): Promise<number> {
    return this.db.sql('SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?').pluck().get(key, since) as number
  }

  async clearFailures(key: string): Promise<void> {
    return this.db.write(() => {
      this.db.sql('DELETE FROM login_failures WHERE key = ?').run(key)
    })
  }
}
