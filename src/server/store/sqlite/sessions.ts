import { toSession, toWebSession, type DbRow } from '../row-mappers.js'
import type { SessionRow, SessionStore, WebSessionRow } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteSessions implements SessionStore {
  constructor(private readonly db: SqliteDatabase) {}

  async create(row: SessionRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO sessions (id, sub, email, identity, grant_type, created_at, expires_at, revoked_at, revoked_reason, client_ip, user_agent)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        row.id, row.identity.sub, row.identity.email, JSON.stringify(row.identity), row.grant, row.createdAt, row.expiresAt,
        row.revokedAt, row.revokedReason, row.clientIp, row.userAgent,
      )
    })
  }

  async get(id: string): Promise<SessionRow | undefined> {
    const row = this.db.sql('SELECT * FROM sessions WHERE id = ?').get(id) as DbRow | undefined
    return row && toSession(row)
  }

  async revoke(id: string, now: number, reason: string): Promise<boolean> {
    return this.db.write(() => this.db.sql('UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL').run(now, reason, id).changes === 1)
  }

  async createWeb(row: WebSessionRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql('INSERT INTO web_sessions (id_hash, identity, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
        row.idHash, JSON.stringify(row.identity), row.createdAt, row.expiresAt,
      )
    })
  }

  async getWeb(idHash: string): Promise<WebSessionRow | undefined> {
    const row = this.db.sql('SELECT * FROM web_sessions WHERE id_hash = ?').get(idHash) as DbRow | undefined
    return row && toWebSession(row)
  }

  async deleteWeb(idHash: string): Promise<void> {
    return this.db.write(() => {
      this.db.sql('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash)
    })
  }
}
