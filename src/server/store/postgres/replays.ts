import type { ReplayStore } from '../store.js'
import type { PostgresDatabase } from './database.js'

export class PostgresReplays implements ReplayStore {
  constructor(private readonly db: PostgresDatabase) {}

  /** One statement: of concurrent claims of one key (on any replica) exactly one inserts or takes over an expired row. */
  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    const result = await this.db.query(
      `INSERT INTO used_token_ids (key, expires_at) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE used_token_ids.expires_at <= $3
        RETURNING key`,
      [key, expiresAt, now],
    )
    return result.rowCount === 1
  }
}
