import { toCertificate } from '../row-mappers.js'
import type { AuditDraft, AuditRecord, AuditSeal, CertificateRow, CertificateStore, RevokedCertificates } from '../store.js'
import type { PostgresAudit } from './audit.js'
import type { PostgresDatabase } from './database.js'

export class PostgresCertificates implements CertificateStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly audit: PostgresAudit,
  ) {}

  async record(row: CertificateRow, draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord> {
    return this.audit.appendWith(draft, now, seal, row)
  }

  async list(filter: { sessionId?: string; userEmail?: string }): Promise<CertificateRow[]> {
    const rows = await this.db.rows(
      'SELECT * FROM certificates WHERE ($1::text IS NULL OR session_id = $1) AND ($2::text IS NULL OR user_email = $2) ORDER BY issued_at',
      [filter.sessionId ?? null, filter.userEmail ?? null],
    )
    return rows.map(toCertificate)
  }

  /** The version is read first: a revocation landing in between then shows up as more serials, never as a newer version without its serial. */
  async listRevoked(nowSeconds: number): Promise<RevokedCertificates> {
    const [versionRow] = await this.db.rows(`SELECT greatest(coalesce((SELECT max(revoked_at) FROM sessions WHERE revoked_at IS NOT NULL), 0),
      coalesce((SELECT max(changed_at) FROM disabled_users), 0),
      coalesce((SELECT max(closed_at) FROM access_requests WHERE state = 'revoked'), 0)) AS version`)
    const rows = await this.db.rows(
      `SELECT c.serial FROM certificates c JOIN sessions s ON s.id = c.session_id
        WHERE c.valid_before > $1 AND (s.revoked_at IS NOT NULL OR c.user_email IN (SELECT email FROM disabled_users WHERE disabled)
          OR c.grant_id IN (SELECT id FROM access_requests WHERE state = 'revoked'))
        ORDER BY c.serial`,
      [nowSeconds],
    )
    return { serials: rows.map((row) => String(row.serial)), version: Number(versionRow?.version ?? 0) }
  }
}
