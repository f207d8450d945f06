import type { ReplayStore } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteReplays implements ReplayStore {
  constructor(private readonly db: SqliteDatabase) {}

  /** One upsert: a new key, or one whose record has expired, is (re)claimed; a live one is left alone (0 changes). */
  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    return this.db.write(() =>
      this.db.sql(`INSERT INTO used_token_ids (key, expires_at) VALUES (?, ?)
        ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE used_token_ids.expires_at <= ?`)
        .run(key, expiresAt, now).changes === 1)
  }
}
