import type { ThrottleStore } from '../store.js'
import type { PostgresDatabase } from './database.js'

export class PostgresThrottles implements ThrottleStore {
  constructor(private readonly db: PostgresDatabase) {}

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
