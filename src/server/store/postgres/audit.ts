import { AUDIT_COLUMNS, CERTIFICATE_COLUMNS, auditValues, certificateValues, placeholders, toAudit } from '../row-mappers.js'
import type { AuditDraft, AuditRecord, AuditSeal, AuditStore, CertificateRow } from '../store.js'
import type { PostgresDatabase, TransactionClient } from './database.js'

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

const AUDIT_INSERT = `INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
const CERTIFICATE_INSERT = `INSERT INTO certificates (${CERTIFICATE_COLUMNS}) VALUES ${placeholders(CERTIFICATE_COLUMNS, 'postgres')}`

export class PostgresAudit implements AuditStore {
  constructor(private readonly db: PostgresDatabase) {}

  async append(draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord> {
    return this.appendWith(draft, now, seal)
  }

  /** Appends one event to the hash chain and, in the same transaction, an issued certificate. */
  async appendWith(draft: AuditDraft, now: number, seal: AuditSeal, certificate?: CertificateRow): Promise<AuditRecord> {
    const [record] = await this.appendAll(now, seal, async (client) => {
      if (certificate) await client.query(CERTIFICATE_INSERT, certificateValues(certificate))
      return [draft]
    })
    return record!
  }

  /**
   * One transaction under the chain lock: `work` runs first (its own statements, e.g. a row that must exist
   * exactly when its event does) and says which events to append, in order; each is sealed to the one before.
   * `work` throwing rolls everything back.
   */
  async appendAll(now: number, seal: AuditSeal, work: (client: TransactionClient) => Promise<AuditDraft[]>): Promise<AuditRecord[]> {
    return this.db.transaction(async (client, opened) => {
      const head = opened[opened.length - 1]!.rows[0]
      let previous = head && { seq: Number(head.seq), hash: String(head.hash) }
      const records: AuditRecord[] = []
      for (const draft of await work(client)) {
        const record = seal(draft, previous, now)
        await client.query(AUDIT_INSERT, auditValues(record))
        records.push(record)
        previous = record
      }
      return records
    }, BEGIN_AND_READ_HEAD)
  }

  async read(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.db.rows('SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit])
    return rows.map(toAudit)
  }

  async head(): Promise<AuditRecord | undefined> {
    const [row] = await this.db.rows('SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1')
    return row && toAudit(row)
  }
}
