import type { UserStore } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteUsers implements UserStore {
  constructor(private readonly db: SqliteDatabase) {}

  async setDisabled(email: string, disabled: boolean, now: number, by: string | null, reason: string | null): Promise<boolean> {
    return this.db.write(() => {
      const current = this.db.sql('SELECT disabled FROM disabled_users WHERE email = ?').pluck().get(email) as number | undefined
      if ((current === 1) === disabled) return false
      this.db.sql(`INSERT INTO disabled_users (email, disabled, changed_at, changed_by, reason) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (email) DO UPDATE SET disabled = excluded.disabled, changed_at = excluded.changed_at, changed_by = excluded.changed_by, reason = excluded.reason`)
        .run(email, disabled ? 1 : 0, now, by, reason)
      return true
    })
  }

  async isDisabled(email: string): Promise<boolean> {
    return this.db.sql('SELECT disabled FROM disabled_users WHERE email = ?').pluck().get(email) === 1
  }
}
