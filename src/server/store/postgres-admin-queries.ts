import type { DisabledUserRow, RevokedCertificates, SessionQuery } from './admin-rows.js'
import type { PostgresDatabase } from './postgres-database.js'
import { REVOCATION_CHANNEL, revocationPayload } from './postgres-revocation-listener.js'
import { toDisabledUser, toSession } from './postgres-rows.js'
import type { SessionRow } from './rows.js'

/** The admin API's store methods for PostgreSQL (the same results as sqlite-admin-queries.ts). */

export async function listSessions(db: PostgresDatabase, query: SessionQuery): Promise<SessionRow[]> {
  const rows = await db.rows(
    `SELECT * FROM sessions
      WHERE ($1::text IS NULL OR email = $1) AND ($2::boolean OR (revoked_at IS NULL AND expires_at > $3))
      ORDER BY created_at DESC, id LIMIT $4`,
    [query.userEmail ?? null, query.includeEnded, query.now, query.limit],
  )
  return rows.map(toSession)
}

export async function countActiveSessions(db: PostgresDatabase, now: number): Promise<number> {
  const rows = await db.rows('SELECT COUNT(*) AS active FROM sessions WHERE expires_at > $1 AND revoked_at IS NULL', [now])
  return Number(rows[0]?.active ?? 0)
}

export async function findEmailByUsername(db: PostgresDatabase, username: string): Promise<string | undefined> {
  const rows = await db.rows(
    `SELECT email FROM sessions WHERE sub = $1 OR identity::jsonb ->> 'username' = $1 ORDER BY created_at DESC LIMIT 1`,
    [username],
  )
  return rows[0] === undefined ? undefined : String(rows[0].email)
}

/**
 * One statement each, so "was it already so?" and the change are atomic. Disabling also notifies the other
 * replicas (NOTIFY is delivered at commit, only if the change commits) so they close the user's tunnels.
 */
export async function setUserDisabled(
  db: PostgresDatabase, origin: string, email: string, disabled: boolean, now: number, by: string | null, reason: string | null,
): Promise<boolean> {
  if (!disabled) {
    const result = await db.query(
      'UPDATE disabled_users SET disabled = false, changed_at = $2, changed_by = $3, reason = $4 WHERE email = $1 AND disabled',
      [email, now, by, reason],
    )
    return result.rowCount === 1
  }
  const result = await db.query(
    `WITH changed AS (
      INSERT INTO disabled_users (email, disabled, changed_at, changed_by, reason) VALUES ($1, true, $2, $3, $4)
      ON CONFLICT (email) DO UPDATE SET disabled = true, changed_at = excluded.changed_at, changed_by = excluded.changed_by, reason = excluded.reason
        WHERE NOT disabled_users.disabled
      RETURNING email)
    SELECT pg_notify('${REVOCATION_CHANNEL}', $5) FROM changed`,
    [email, now, by, reason, revocationPayload(origin, { kind: 'user', user: email, reason: 'user disabled' })],
  )
  return result.rowCount === 1
}

export async function isUserDisabled(db: PostgresDatabase, email: string): Promise<boolean> {
  const rows = await db.rows('SELECT disabled FROM disabled_users WHERE email = $1', [email])
  return rows[0]?.disabled === true
}

export async function listDisabledUsers(db: PostgresDatabase): Promise<DisabledUserRow[]> {
  const rows = await db.rows('SELECT * FROM disabled_users WHERE disabled ORDER BY changed_at DESC')
  return rows.map(toDisabledUser)
}

/** The version is read first: a revocation landing in between then shows up as more serials, never as a newer version without its serial. */
export async function listRevokedCertificates(db: PostgresDatabase, nowSeconds: number): Promise<RevokedCertificates> {
  const [versionRow] = await db.rows(`SELECT greatest(coalesce((SELECT max(revoked_at) FROM sessions WHERE revoked_at IS NOT NULL), 0),
    coalesce((SELECT max(changed_at) FROM disabled_users), 0)) AS version`)
  const rows = await db.rows(
    `SELECT c.serial FROM certificates c JOIN sessions s ON s.id = c.session_id
      WHERE c.valid_before > $1 AND (s.revoked_at IS NOT NULL OR c.user_email IN (SELECT email FROM disabled_users WHERE disabled))
      ORDER BY c.serial`,
    [nowSeconds],
  )
  return { serials: rows.map((row) => String(row.serial)), version: Number(versionRow?.version ?? 0) }
}
