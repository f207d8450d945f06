import { sealAuditRecord } from '../audit/audit-chain.js'
import type { AuditQuery } from './admin-rows.js'
import type { PostgresDatabase } from './postgres-database.js'
import { AUDIT_INSERT, auditValues, toAuditEvent } from './postgres-rows.js'
import type { AuditDraft, AuditRecord, CertificateRow } from './rows.js'

/** pg_advisory_xact_lock key of the audit chain's head ("jitssh audit chain"): one appender at a time, across replicas. */
const AUDIT_CHAIN_LOCK = 0x6a69_7473_7301

/**
 * Opens the append transaction in one round trip: synchronous commit (the event is on disk before the
 * caller responds, whatever the database's default), the chain lock, then the head. Under READ COMMITTED
 * every statement takes a fresh snapshot, so the head is read after the lock is held and is the newest
 * committed event: two replicas can never seal the same seq.
 */
const BEGIN_AND_READ_HEAD = `BEGIN;
  SET LOCAL synchronous_commit = on;
  SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK});
  SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`

const CERTIFICATE_INSERT = `INSERT INTO certificates (serial, session_id, user_email, host, principals, key_id, fingerprint, valid_after, valid_before, issued_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

/** Appends one event to the hash chain (and, in the same transaction, an issued certificate). */
export async function appendAudit(db: PostgresDatabase, draft: AuditDraft, now: number, certificate?: CertificateRow): Promise<AuditRecord> {
  return db.transaction(async (client, opened) => {
    const head = opened[opened.length - 1]!.rows[0]
    const record = sealAuditRecord(draft, head && { seq: Number(head.seq), hash: String(head.hash) }, now)
    if (certificate) {
      await client.query(CERTIFICATE_INSERT, [
        certificate.serial, certificate.sessionId, certificate.userEmail, certificate.host, JSON.stringify(certificate.principals),
        certificate.keyId, certificate.fingerprint, certificate.validAfter, certificate.validBefore, certificate.issuedAt,
      ])
    }
    await client.query(AUDIT_INSERT, auditValues(record))
    return record
  }, BEGIN_AND_READ_HEAD)
}

export async function readAudit(db: PostgresDatabase, afterSeq: number, limit: number): Promise<AuditRecord[]> {
  const rows = await db.rows('SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])
  return rows.map(toAuditEvent)
}

/** The same filters as SQLite's searchAudit (see sqlite-admin-queries.ts), with numbered parameters. */
export async function searchAudit(db: PostgresDatabase, query: AuditQuery): Promise<AuditRecord[]> {
  const where: string[] = []
  const params: unknown[] = []
  const param = (value: unknown): string => `$${params.push(value)}`
  if (query.user !== undefined) where.push(`user_email = ${param(query.user)}`)
  if (query.host !== undefined) where.push(`host = ${param(query.host)}`)
  if (query.types !== undefined && query.types.length > 0) {
    // A family `tunnel` is `tunnel` itself or `tunnel.` up to (not including) `tunnel/`: '/' follows '.' (type is COLLATE "C").
    where.push(`(${query.types.map((type) => `(type = ${param(type)} OR (type > ${param(`${type}.`)} AND type < ${param(`${type}/`)}))`).join(' OR ')})`)
  }
  if (query.since !== undefined) where.push(`time >= ${param(query.since)}`)
  if (query.until !== undefined) where.push(`time < ${param(query.until)}`)
  if (query.afterSeq !== undefined) where.push(`seq ${query.order === 'asc' ? '>' : '<'} ${param(query.afterSeq)}`)
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
  const rows = await db.rows(`SELECT * FROM audit_events ${clause} ORDER BY seq ${query.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ${param(query.limit)}`, params)
  return rows.map(toAuditEvent)
}
