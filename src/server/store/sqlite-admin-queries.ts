import type Database from 'better-sqlite3'
import type { AuditQuery, DisabledUserRow, RevokedCertificates, SessionQuery } from './admin-rows.js'
import type { AuditRecord, SessionRow } from './rows.js'
import { toAudit, toDisabledUser, toSession, type SqlRow } from './sqlite-rows.js'

/** What the admin queries need from SqliteStore: its statement cache and its group-commit writer. */
export interface SqliteAccess {
  sql(text: string): Database.Statement
  write<T>(run: () => T): Promise<T>
}

/**
 * The SQL of the admin API's store methods (SqliteStore delegates here). Audit filters are exact matches
 * on indexed columns: user and host (with seq), type (with seq) and time (ISO text, which sorts as time).
 */
export function searchAudit(db: SqliteAccess, query: AuditQuery): AuditRecord[] {
  const where: string[] = []
  const params: unknown[] = []
  if (query.user !== undefined) {
    where.push('user = ?')
    params.push(query.user)
  }
  if (query.host !== undefined) {
    where.push('host = ?')
    params.push(query.host)
  }
  if (query.types !== undefined && query.types.length > 0) {
    // A family `tunnel` is `tunnel` itself or `tunnel.` up to (not including) `tunnel/`: '/' follows '.'.
    where.push(`(${query.types.map(() => '(type = ? OR (type > ? AND type < ?))').join(' OR ')})`)
    for (const type of query.types) params.push(type, `${type}.`, `${type}/`)
  }
  if (query.since !== undefined) {
    where.push('time >= ?')
    params.push(query.since)
  }
  if (query.until !== undefined) {
    where.push('time < ?')
    params.push(query.until)
  }
  if (query.afterSeq !== undefined) {
    where.push(query.order === 'asc' ? 'seq > ?' : 'seq < ?')
    params.push(query.afterSeq)
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
  const rows = db.sql(`SELECT * FROM audit_events ${clause} ORDER BY seq ${query.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`).all(...params, query.limit) as SqlRow[]
  return rows.map(toAudit)
}

export function listSessions(db: SqliteAccess, query: SessionQuery): SessionRow[] {
  const rows = db
    .sql(`SELECT * FROM sessions
      WHERE (@email IS NULL OR email = @email) AND (@all = 1 OR (revoked_at IS NULL AND expires_at > @now))
      ORDER BY created_at DESC, id LIMIT @limit`)
    .all({ email: query.userEmail ?? null, all: query.includeEnded ? 1 : 0, now: query.now, limit: query.limit }) as SqlRow[]
  return rows.map(toSession)
}

export function countActiveSessions(db: SqliteAccess, now: number): number {
  return db.sql('SELECT COUNT(*) FROM sessions WHERE expires_at > ? AND revoked_at IS NULL').pluck().get(now) as number
}

export function findEmailByUsername(db: SqliteAccess, username: string): string | undefined {
  return db
    .sql(`SELECT email FROM sessions WHERE sub = @name OR json_extract(identity, '$.username') = @name ORDER BY created_at DESC LIMIT 1`)
    .pluck()
    .get({ name: username }) as string | undefined
}

export function setUserDisabled(db: SqliteAccess, email: string, disabled: boolean, now: number, by: string | null, reason: string | null): Promise<boolean> {
  return db.write(() => {
    const current = db.sql('SELECT disabled FROM disabled_users WHERE email = ?').pluck().get(email) as number | undefined
    if ((current === 1) === disabled) return false
    db.sql(`INSERT INTO disabled_users (email, disabled, changed_at, changed_by, reason) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (email) DO UPDATE SET disabled = excluded.disabled, changed_at = excluded.changed_at, changed_by = excluded.changed_by, reason = excluded.reason`)
      .run(email, disabled ? 1 : 0, now, by, reason)
    return true
  })
}

export function isUserDisabled(db: SqliteAccess, email: string): boolean {
  return db.sql('SELECT disabled FROM disabled_users WHERE email = ?').pluck().get(email) === 1
}

export function listDisabledUsers(db: SqliteAccess): DisabledUserRow[] {
  const rows = db.sql('SELECT * FROM disabled_users WHERE disabled = 1 ORDER BY changed_at DESC').all() as SqlRow[]
  return rows.map(toDisabledUser)
}

export function listRevokedCertificates(db: SqliteAccess, nowSeconds: number): RevokedCertificates {
  const serials = db
    .sql(`SELECT c.serial FROM certificates c JOIN sessions s ON s.id = c.session_id
      WHERE c.valid_before > ? AND (s.revoked_at IS NOT NULL OR c.user_email IN (SELECT email FROM disabled_users WHERE disabled = 1))
      ORDER BY c.serial`)
    .pluck()
    .all(nowSeconds) as string[]
  const version = db
    .sql(`SELECT max(coalesce((SELECT max(revoked_at) FROM sessions WHERE revoked_at IS NOT NULL), 0),
      coalesce((SELECT max(changed_at) FROM disabled_users), 0))`)
    .pluck()
    .get() as number
  return { serials, version: Number(version) }
}
