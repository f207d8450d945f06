import { AUDIT_COLUMNS, auditValues, toAudit, type DbRow } from '../row-mappers.js'
import type { AuditDraft, AuditHead, AuditRecord, AuditSeal, AuditStore } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteAudit implements AuditStore {
  constructor(private readonly db: SqliteDatabase) {}

  async append(draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord> {
    return this.db.write(() => this.appendInTransaction(draft, now, seal))
  }

  /** Seals and inserts the next event; the caller holds the write transaction (one writer: no race on the head). */
  appendInTransaction(draft: AuditDraft, now: number, seal: AuditSeal): AuditRecord {
    const last = this.db.sql('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as AuditHead | undefined
    const record = seal(draft, last, now)
    this.db.sql(`INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...auditValues(record))
    return record
  }

  async read(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = this.db.sql('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as DbRow[]
    return rows.map(toAudit)
  }

  async head(): Promise<AuditRecord | undefined> {
    const row = this.db.sql('SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1').get() as DbRow | undefined
    return row && toAudit(row)
  }
}
