import { auditSearchSql } from '../audit-search-sql.js'
import { toAudit, toDisabledUser, toSession } from '../row-mappers.js'
import type { AdminQueries, AuditQuery, AuditRecord, DisabledUserRow, SessionQuery, SessionRow } from '../store.js'
import type { PostgresDatabase } from './database.js'

export class PostgresAdminQueries implements AdminQueries {
  constructor(private readonly db: PostgresDatabase) {}

  async searchAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const { text, params } = auditSearchSql(query, (index) => `$${index}`)
    return (await this.db.rows(text, params)).map(toAudit)
  }

  async listSessions(query: SessionQuery): Promise<SessionRow[]> {
    const rows = await this.db.rows(
      `SELECT * FROM sessions
        WHERE ($1::text IS NULL OR email = $1) AND ($2::boolean OR (revoked_at IS NULL AND expires_at > $3))
        ORDER BY created_at DESC, id LIMIT $4`,
      [query.userEmail ?? null, query.includeEnded, query.now, query.limit],
    )
    return rows.map(toSession)
  }

  async countActiveSessions(now: number): Promise<number> {
    const rows = await this.db.rows('SELECT COUNT(*) AS active FROM sessions WHERE expires_at > $1 AND revoked_at IS NULL', [now])
    return Number(rows[0]?.active ?? 0)
  }

  async findEmailBySubject(sub: string): Promise<string | undefined> {
    const rows = await this.db.rows('SELECT email FROM sessions WHERE sub = $1 ORDER BY created_at DESC LIMIT 1', [sub])
    return rows[0] === undefined ? undefined : String(rows[0].email)
  }

  async listDisabledUsers(): Promise<DisabledUserRow[]> {
    const rows = await this.db.rows('SELECT * FROM disabled_users WHERE disabled ORDER BY changed_at DESC')
    return rows.map(toDisabledUser)
  }
}
