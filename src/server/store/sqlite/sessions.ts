import { jsonOrNull, toSession, toWebSession, type DbRow } from '../row-mappers.js'
import type { SessionRow, SessionStore, WebSessionRow } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteSessions implements SessionStore {
  constructor(private readonly db: SqliteDatabase) {}

  async create(row: SessionRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO sessions (id, sub, email, identity, auth, grant_type, created_at, expires_at, revoked_at, revoked_reason, client_ip, user_agent)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        row.id, row.identity.sub, row.identity.email, JSON.stringify(row.identity), jsonOrNull(row.auth), row.grant, row.createdAt, row.expiresAt,
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
      this.db.sql('INSERT INTO web_sessions (id_hash, sub, email, identity, auth, flow, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        row.idHash, row.identity.sub, row.identity.email, JSON.stringify(row.identity), JSON.stringify(row.auth), row.flow, row.createdAt, row.expiresAt,
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

  async deleteWebOf(person: { email: string } | { sub: string }): Promise<number> {
    return this.db.write(() =>
      'email' in person
        ? this.db.sql('DELETE FROM web_sessions WHERE email = ?').run(person.email).changes
        : this.db.sql('DELETE FROM web_sessions WHERE sub = ?').run(person.sub).changes,
    )
  }

  async takeWebFlow(idHash: string, flow: string): Promise<boolean> {
    return this.db.write(() => this.db.sql('UPDATE web_sessions SET flow = NULL WHERE id_hash = ? AND flow = ?').run(idHash, flow).changes === 1)
  }
}
