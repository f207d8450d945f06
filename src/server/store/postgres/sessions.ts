import { jsonOrNull, toSession, toWebSession } from '../row-mappers.js'
import type { SessionRow, SessionStore, WebSessionRow } from '../store.js'
import type { PostgresDatabase } from './database.js'
import { REVOCATION_CHANNEL, revocationPayload } from './revocation-listener.js'

export class PostgresSessions implements SessionStore {
  /** `origin`: this store instance in NOTIFY payloads, so it can ignore its own. */
  constructor(
    private readonly db: PostgresDatabase,
    private readonly origin: string,
  ) {}

  async create(row: SessionRow): Promise<void> {
    await this.db.query(
      `INSERT INTO sessions (id, sub, email, identity, auth, grant_type, created_at, expires_at, revoked_at, revoked_reason, client_ip, user_agent)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [row.id, row.identity.sub, row.identity.email, JSON.stringify(row.identity), jsonOrNull(row.auth), row.grant, row.createdAt, row.expiresAt,
        row.revokedAt, row.revokedReason, row.clientIp, row.userAgent],
    )
  }

  async get(id: string): Promise<SessionRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM sessions WHERE id = $1', [id])
    return row && toSession(row)
  }

  /** The revocation and its NOTIFY are one statement: other replicas hear of it exactly when it commits. */
  async revoke(id: string, now: number, reason: string): Promise<boolean> {
    const result = await this.db.query(
      `WITH revoked AS (UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING id)
      SELECT pg_notify('${REVOCATION_CHANNEL}', $4) FROM revoked`,
      [now, reason, id, revocationPayload(this.origin, { kind: 'session', sessionId: id, reason })],
    )
    return result.rowCount === 1
  }

  async createWeb(row: WebSessionRow): Promise<void> {
    await this.db.query('INSERT INTO web_sessions (id_hash, sub, email, identity, auth, flow, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      row.idHash, row.identity.sub, row.identity.email, JSON.stringify(row.identity), JSON.stringify(row.auth), row.flow, row.createdAt, row.expiresAt,
    ])
  }

  async getWeb(idHash: string): Promise<WebSessionRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM web_sessions WHERE id_hash = $1', [idHash])
    return row && toWebSession(row)
  }

  async deleteWeb(idHash: string): Promise<void> {
    await this.db.query('DELETE FROM web_sessions WHERE id_hash = $1', [idHash])
  }

  async deleteWebOf(person: { email: string } | { sub: string }): Promise<number> {
    const result = 'email' in person
      ? await this.db.query('DELETE FROM web_sessions WHERE email = $1', [person.email])
      : await this.db.query('DELETE FROM web_sessions WHERE sub = $1', [person.sub])
    return result.rowCount ?? 0
  }

  async takeWebFlow(idHash: string, flow: string): Promise<boolean> {
    const result = await this.db.query('UPDATE web_sessions SET flow = NULL WHERE id_hash = $1 AND flow = $2', [idHash, flow])
    return result.rowCount === 1
  }
}
