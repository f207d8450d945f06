import { CERTIFICATE_COLUMNS, certificateValues, placeholders, toCertificate, type DbRow } from '../row-mappers.js'
import type { AuditDraft, AuditRecord, AuditSeal, CertificateRow, CertificateStore, RevokedCertificates } from '../store.js'
import type { SqliteAudit } from './audit.js'
import type { SqliteDatabase } from './database.js'

export class SqliteCertificates implements CertificateStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly audit: SqliteAudit,
  ) {}

  async record(row: CertificateRow, draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO certificates (${CERTIFICATE_COLUMNS}) VALUES ${placeholders(CERTIFICATE_COLUMNS, 'sqlite')}`).run(...certificateValues(row))
      return this.audit.appendInTransaction(draft, now, seal)
    })
  }

  async list(filter: { sessionId?: string; userEmail?: string }): Promise<CertificateRow[]> {
    const rows = this.db.sql(`SELECT * FROM certificates WHERE (@session IS NULL OR session_id = @session) AND (@email IS NULL OR user_email = @email) ORDER BY issued_at`)
      .all({ session: filter.sessionId ?? null, email: filter.userEmail ?? null }) as DbRow[]
    return rows.map(toCertificate)
  }

  async listRevoked(nowSeconds: number): Promise<RevokedCertificates> {
    const serials = this.db
      .sql(`SELECT c.serial FROM certificates c JOIN sessions s ON s.id = c.session_id
        WHERE c.valid_before > ? AND (s.revoked_at IS NOT NULL OR c.user_email IN (SELECT email FROM disabled_users WHERE disabled = 1)
          OR c.grant_id IN (SELECT id FROM access_requests WHERE state = 'revoked'))
        ORDER BY c.serial`)
      .pluck()
      .all(nowSeconds) as string[]
    const version = this.db
      .sql(`SELECT max(coalesce((SELECT max(revoked_at) FROM sessions WHERE revoked_at IS NOT NULL), 0),
        coalesce((SELECT max(changed_at) FROM disabled_users), 0),
        coalesce((SELECT max(closed_at) FROM access_requests WHERE state = 'revoked'), 0))`)
      .pluck()
      .get() as number
    return { serials, version: Number(version) }
  }
}
