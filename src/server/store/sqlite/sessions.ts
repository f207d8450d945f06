import { SESSION_COLUMNS, sessionValues, TERMINAL_TICKET_COLUMNS, terminalTicketValues, toSession, toTerminalTicket, toWebSession, type DbRow } from '../row-mappers.js'
import type { SessionRow, SessionStore, TerminalTicketRow, WebSessionRow } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteSessions implements SessionStore {
  constructor(private readonly db: SqliteDatabase) {}

  async create(row: SessionRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...sessionValues(row))
    })
  }

  async createIfAbsent(row: SessionRow): Promise<boolean> {
    return this.db.write(() => this.db.sql(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`).run(...sessionValues(row)).changes === 1)
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

  async createTerminalTicket(row: TerminalTicketRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO terminal_tickets (${TERMINAL_TICKET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`).run(...terminalTicketValues(row))
    })
  }

  async takeTerminalTicket(ticketHash: string, now: number): Promise<TerminalTicketRow | undefined> {
    const row = await this.db.write(() => this.db.sql('DELETE FROM terminal_tickets WHERE ticket_hash = ? RETURNING *').get(ticketHash) as DbRow | undefined)
    return row && Number(row.expires_at) > now ? toTerminalTicket(row) : undefined
  }

  async takeWebFlow(idHash: string, flow: string): Promise<boolean> {
    return this.db.write(() => this.db.sql('UPDATE web_sessions SET flow = NULL WHERE id_hash = ? AND flow = ?').run(idHash, flow).changes === 1)
  }
}
