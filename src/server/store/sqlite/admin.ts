import { auditSearchSql } from '../audit-search-sql.js'
import { toAudit, toDisabledUser, toSession, type DbRow } from '../row-mappers.js'
import type { AdminQueries, AuditQuery, AuditRecord, DisabledUserRow, SessionQuery, SessionRow } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteAdminQueries implements AdminQueries {
  constructor(private readonly db: SqliteDatabase) {}

  async searchAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const { text, params } = auditSearchSql(query, () => '?')
    return (this.db.sql(text).all(...params) as DbRow[]).map(toAudit)
  }

  async listSessions(query: SessionQuery): Promise<SessionRow[]> {
    const rows = this.db
      .sql(`SELECT * FROM sessions
        WHERE (@email IS NULL OR email = @email) AND (@all = 1 OR (revoked_at IS NULL AND expires_at > @now))
        ORDER BY created_at DESC, id LIMIT @limit`)
      .all({ email: query.userEmail ?? null, all: query.includeEnded ? 1 : 0, now: query.now, limit: query.limit }) as DbRow[]
    return rows.map(toSession)
  }

  async countActiveSessions(now: number): Promise<number> {
    return this.db.sql('SELECT COUNT(*) FROM sessions WHERE expires_at > ? AND revoked_at IS NULL').pluck().get(now) as number
  }

  async findEmailBySubject(sub: string): Promise<string | undefined> {
    return this.db.sql('SELECT email FROM sessions WHERE sub = ? ORDER BY created_at DESC LIMIT 1').pluck().get(sub) as string | undefined
  }

  async listDisabledUsers(): Promise<DisabledUserRow[]> {
    const rows = this.db.sql('SELECT * FROM disabled_users WHERE disabled = 1 ORDER BY changed_at DESC').all() as DbRow[]
    return rows.map(toDisabledUser)
  }
}
