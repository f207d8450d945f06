import type { AuditRecord } from './rows.js'
import { toAudit, type SqlRow } from './sqlite-rows.js'
import type { PgRow } from './postgres-database.js'

/**
 * Row mapping for PostgreSQL. The tables have SQLite's column names and JSON-text encodings, and the
 * SQLite mappers convert with Number()/String() (BIGINT arrives as a string here), so they are reused as
 * they are; only the audit event's user column is named differently (`user` is reserved in PostgreSQL).
 */
export { toAuthCode, toCertificate, toDeviceCode, toDisabledUser, toRefreshToken, toSession } from './sqlite-rows.js'

export function toAuditEvent(row: PgRow): AuditRecord {
  return toAudit({ ...row, user: row.user_email } as SqlRow)
}

/** The values of an audit_events row, in the column order of AUDIT_INSERT. */
export function auditValues(record: AuditRecord): unknown[] {
  return [
    record.seq, record.time, record.type, record.user, record.sessionId, record.host, record.outcome,
    JSON.stringify(record.detail), record.prevHash, record.hash,
  ]
}

export const AUDIT_INSERT = `INSERT INTO audit_events (seq, time, type, user_email, session_id, host, outcome, detail, prev_hash, hash)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
