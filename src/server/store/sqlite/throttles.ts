import type { ThrottleStore } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteThrottles implements ThrottleStore {
  constructor(private readonly db: SqliteDatabase) {}

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
