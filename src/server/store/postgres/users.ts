import type { UserStore } from '../store.js'
import type { PostgresDatabase } from './database.js'
import { REVOCATION_CHANNEL, revocationPayload } from './revocation-listener.js'

export class PostgresUsers implements UserStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly origin: string,
  ) {}

  /**
   * One statement each, so "was it already so?" and the change are atomic. Disabling also notifies the other
   * replicas (NOTIFY is delivered at commit, only if the change commits) so they close the user's tunnels.
   */
  async setDisabled(email: string, disabled: boolean, now: number, by: string | null, reason: string | null): Promise<boolean> {
    if (!disabled) {
      const result = await this.db.query(
        'UPDATE disabled_users SET disabled = false, changed_at = $2, changed_by = $3, reason = $4 WHERE email = $1 AND disabled',
        [email, now, by, reason],
      )
      return result.rowCount === 1
    }
    const result = await this.db.query(
      `WITH changed AS (
        INSERT INTO disabled_users (email, disabled, changed_at, changed_by, reason) VALUES ($1, true, $2, $3, $4)
        ON CONFLICT (email) DO UPDATE SET disabled = true, changed_at = excluded.changed_at, changed_by = excluded.changed_by, reason = excluded.reason
          WHERE NOT disabled_users.disabled
        RETURNING email)
      SELECT pg_notify('${REVOCATION_CHANNEL}', $5) FROM changed`,
      [email, now, by, reason, revocationPayload(this.origin, { kind: 'user', user: email, reason: 'user disabled' })],
    )
    return result.rowCount === 1
  }

  async isDisabled(email: string): Promise<boolean> {
    const rows = await this.db.rows('SELECT disabled FROM disabled_users WHERE email = $1', [email])
    return rows[0]?.disabled === true
  }
}
