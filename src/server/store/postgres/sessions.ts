import { SESSION_COLUMNS, sessionValues, TERMINAL_TICKET_COLUMNS, terminalTicketValues, toSession, toTerminalTicket, toWebSession } from '../row-mappers.js'
import type { SessionRow, SessionStore, TerminalTicketRow, WebSessionRow } from '../store.js'
import type { PostgresDatabase } from './database.js'
import { REVOCATION_CHANNEL, revocationPayload } from './revocation-listener.js'

const PLACEHOLDERS_12 = Array.from({ length: 12 }, (_unused, index) => `$${index + 1}`).join(', ')

export class PostgresSessions implements SessionStore {
  /** `origin`: this store instance in NOTIFY payloads, so it can ignore its own. */
  constructor(
    private readonly db: PostgresDatabase,
    private readonly origin: string,
  ) {}

  async create(row: SessionRow): Promise<void> {
    await this.db.query(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (${PLACEHOLDERS_12})`, sessionValues(row))
  }

  async createIfAbsent(row: SessionRow): Promise<boolean> {
    const result = await this.db.query(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (${PLACEHOLDERS_12}) ON CONFLICT (id) DO NOTHING`, sessionValues(row))
    return result.rowCount === 1
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

  async createTerminalTicket(row: TerminalTicketRow): Promise<void> {
    await this.db.query(`INSERT INTO terminal_tickets (${TERMINAL_TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, terminalTicketValues(row))
  }

  /** DELETE ... RETURNING: of two replicas taking the same ticket, one gets the row. */
  async takeTerminalTicket(ticketHash: string, now: number): Promise<TerminalTicketRow | undefined> {
    const [row] = await this.db.rows('DELETE FROM terminal_tickets WHERE ticket_hash = $1 RETURNING *', [ticketHash])
    return row && Number(row.expires_at) > now ? toTerminalTicket(row) : undefined
  }

  async takeWebFlow(idHash: string, flow: string): Promise<boolean> {
    const result = await this.db.query('UPDATE web_sessions SET flow = NULL WHERE id_hash = $1 AND flow = $2', [idHash, flow])
    return result.rowCount === 1
  }
}
