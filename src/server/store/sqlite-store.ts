import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { sealAuditRecord } from '../audit/audit-chain.js'
import type { Identity } from '../identity/identity.js'
import type {
  AuditDraft, AuditQuery, AuditRecord, AuthCodeRow, CertificateRow, DeviceCodeRow, DisabledUserRow, OidcLoginRow, RefreshTokenRow,
  RevocationListener, RevokedCertificates, SessionQuery, SessionRow, Store, WebSessionRow,
} from './store.js'
import * as admin from './sqlite-admin-queries.js'
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js'
import { SqliteWriteBatch } from './sqlite-write-batch.js'
import { toAudit, toAuthCode, toCertificate, toDeviceCode, toRefreshToken, toSession, type SqlRow } from './sqlite-rows.js'

/**
 * The embedded store: one SQLite file (WAL, foreign keys, synchronous=FULL so an audit event is on disk
 * before the response). better-sqlite3 is synchronous; the methods are async to match the Store shape, and
 * writes go through a group commit (sqlite-write-batch.ts): one transaction and one fsync per event-loop turn.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database
  private readonly batch: SqliteWriteBatch

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    this.migrate()
    this.batch = new SqliteWriteBatch(this.db)
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
    const applied = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[])
    for (const migration of SQLITE_MIGRATIONS) {
      if (applied.has(migration.version)) continue
      this.db.transaction(() => {
        this.db.exec(migration.sql)
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, new Date().toISOString())
      }).immediate()
    }
  }

  private readonly statements = new Map<string, Database.Statement>()
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text)
    if (!statement) {
      statement = this.db.prepare(text)
      this.statements.set(text, statement)
    }
    return statement
  }

  async close(): Promise<void> {
    this.batch.flush()
    this.db.close()
  }

  async ping(): Promise<void> {
    this.sql('SELECT 1').get()
  }

  async createSession(row: SessionRow): Promise<void> {
    return this.batch.write(() => {
      this.sql(`INSERT INTO sessions (id, sub, email, identity, grant_type, created_at, expires_at, revoked_at, revoked_reason, client_ip, user_agent)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        row.id, row.identity.sub, row.identity.email, JSON.stringify(row.identity), row.grant, row.createdAt, row.expiresAt,
        row.revokedAt, row.revokedReason, row.clientIp, row.userAgent,
      )
    })
  }

  async getSession(id: string): Promise<SessionRow | undefined> {
    const row = this.sql('SELECT * FROM sessions WHERE id = ?').get(id) as SqlRow | undefined
    return row && toSession(row)
  }

  async revokeSession(id: string, now: number, reason: string): Promise<boolean> {
    return this.batch.write(() => this.sql('UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL').run(now, reason, id).changes === 1)
  }

  async createWebSession(row: WebSessionRow): Promise<void> {
    return this.batch.write(() => {
      this.sql('INSERT INTO web_sessions (id_hash, identity, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
        row.idHash, JSON.stringify(row.identity), row.createdAt, row.expiresAt,
      )
    })
  }

  async getWebSession(idHash: string): Promise<WebSessionRow | undefined> {
    const row = this.sql('SELECT * FROM web_sessions WHERE id_hash = ?').get(idHash) as SqlRow | undefined
    if (!row) return undefined
    return { idHash, identity: JSON.parse(row.identity as string) as Identity, createdAt: row.created_at as number, expiresAt: row.expires_at as number }
  }

  async deleteWebSession(idHash: string): Promise<void> {
    return this.batch.write(() => {
      this.sql('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash)
    })
  }

  async insertAuthCode(row: AuthCodeRow): Promise<void> {
    return this.batch.write(() => {
      this.sql(`INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, identity, created_at, expires_at, used_at, session_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)`).run(
        row.codeHash, row.clientId, row.redirectUri, row.codeChallenge, JSON.stringify(row.identity), row.createdAt, row.expiresAt,
      )
    })
  }

  async consumeAuthCode(codeHash: string, now: number): Promise<{ row: AuthCodeRow; firstUse: boolean } | undefined> {
    return this.batch.write(() => {
      const row = this.sql('SELECT * FROM auth_codes WHERE code_hash = ?').get(codeHash) as SqlRow | undefined
      if (!row) return undefined
      const firstUse = this.sql('UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL').run(now, codeHash).changes === 1
      return { row: toAuthCode(row), firstUse }
    })
  }

  async attachSessionToAuthCode(codeHash: string, sessionId: string): Promise<void> {
    return this.batch.write(() => {
      this.sql('UPDATE auth_codes SET session_id = ? WHERE code_hash = ?').run(sessionId, codeHash)
    })
  }

  async insertDeviceCode(row: DeviceCodeRow): Promise<void> {
    return this.batch.write(() => {
      this.sql(`INSERT INTO device_codes (device_code_hash, user_code, client_id, created_at, expires_at, interval_seconds, last_polled_at,
        status, identity, decided_at, requester_ip, requester_user_agent, session_id) VALUES (?, ?, ?, ?, ?, ?, NULL, 'pending', NULL, NULL, ?, ?, NULL)`).run(
        row.deviceCodeHash, row.userCode, row.clientId, row.createdAt, row.expiresAt, row.intervalSeconds, row.requesterIp, row.requesterUserAgent,
      )
    })
  }

  async getDeviceCode(deviceCodeHash: string): Promise<DeviceCodeRow | undefined> {
    const row = this.sql('SELECT * FROM device_codes WHERE device_code_hash = ?').get(deviceCodeHash) as SqlRow | undefined
    return row && toDeviceCode(row)
  }

  async getDeviceCodeByUserCode(userCode: string): Promise<DeviceCodeRow | undefined> {
    const row = this.sql('SELECT * FROM device_codes WHERE user_code = ?').get(userCode) as SqlRow | undefined
    return row && toDeviceCode(row)
  }

  async recordDevicePoll(deviceCodeHash: string, now: number, intervalSeconds: number): Promise<void> {
    return this.batch.write(() => {
      this.sql('UPDATE device_codes SET last_polled_at = ?, interval_seconds = ? WHERE device_code_hash = ?').run(now, intervalSeconds, deviceCodeHash)
    })
  }

  async decideDeviceCode(userCode: string, decision: 'approved' | 'denied', identity: Identity | null, now: number): Promise<boolean> {
    return this.batch.write(() => {
      return this.sql(`UPDATE device_codes SET status = ?, identity = ?, decided_at = ? WHERE user_code = ? AND status = 'pending'`)
        .run(decision, identity && JSON.stringify(identity), now, userCode).changes === 1
    })
  }

  async consumeDeviceCode(deviceCodeHash: string, sessionId: string): Promise<boolean> {
    return this.batch.write(() => {
      return this.sql(`UPDATE device_codes SET status = 'consumed', session_id = ? WHERE device_code_hash = ? AND status = 'approved'`)
        .run(sessionId, deviceCodeHash).changes === 1
    })
  }

  async insertRefreshToken(row: RefreshTokenRow): Promise<void> {
    return this.batch.write(() => {
      this.sql('INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, NULL)').run(
        row.tokenHash, row.sessionId, row.createdAt, row.expiresAt,
      )
    })
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const row = this.sql('SELECT * FROM refresh_tokens WHERE token_hash = ?').get(tokenHash) as SqlRow | undefined
    return row && toRefreshToken(row)
  }

  async markRefreshTokenUsed(tokenHash: string, now: number): Promise<boolean> {
    return this.batch.write(() => this.sql('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL').run(now, tokenHash).changes === 1)
  }

  async recordCertificate(row: CertificateRow, audit: AuditDraft, now: number): Promise<AuditRecord> {
    return this.batch.write(() => {
      this.sql(`INSERT INTO certificates (serial, session_id, user_email, host, principals, key_id, fingerprint, valid_after, valid_before, issued_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        row.serial, row.sessionId, row.userEmail, row.host, JSON.stringify(row.principals), row.keyId, row.fingerprint,
        row.validAfter, row.validBefore, row.issuedAt,
      )
      return this.appendAuditInTransaction(audit, now)
    })
  }

  async listCertificates(filter: { sessionId?: string; userEmail?: string }): Promise<CertificateRow[]> {
    const rows = this.sql(`SELECT * FROM certificates WHERE (@session IS NULL OR session_id = @session) AND (@email IS NULL OR user_email = @email) ORDER BY issued_at`)
      .all({ session: filter.sessionId ?? null, email: filter.userEmail ?? null }) as SqlRow[]
    return rows.map(toCertificate)
  }

  async appendAudit(draft: AuditDraft, now: number): Promise<AuditRecord> {
    return this.batch.write(() => this.appendAuditInTransaction(draft, now))
  }

  private appendAuditInTransaction(draft: AuditDraft, now: number): AuditRecord {
    const last = this.sql('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined
    const record = sealAuditRecord(draft, last, now)
    this.sql(`INSERT INTO audit_events (seq, time, type, user, session_id, host, outcome, detail, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      record.seq, record.time, record.type, record.user, record.sessionId, record.host, record.outcome,
      JSON.stringify(record.detail), record.prevHash, record.hash,
    )
    return record
  }

  async readAudit(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    const rows = this.sql('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as SqlRow[]
    return rows.map(toAudit)
  }

  async recordLoginFailure(key: string, now: number): Promise<void> {
    return this.batch.write(() => {
      this.sql('INSERT INTO login_failures (key, at) VALUES (?, ?)').run(key, now)
    })
  }

  async countLoginFailures(key: string, since: number): Promise<number> {
    return this.sql('SELECT count(*) FROM login_failures WHERE key = ? AND at >= ?').pluck().get(key, since) as number
  }

  async clearLoginFailures(key: string): Promise<void> {
    return this.batch.write(() => {
      this.sql('DELETE FROM login_failures WHERE key = ?').run(key)
    })
  }

  async purgeExpired(now: number, loginFailuresBefore: number): Promise<void> {
    return this.batch.write(() => {
      this.sql('DELETE FROM web_sessions WHERE expires_at < ?').run(now)
      this.sql('DELETE FROM oidc_logins WHERE expires_at < ?').run(now)
      this.sql('DELETE FROM login_failures WHERE at < ?').run(loginFailuresBefore)
      // Keep used codes for a day so a late replay is still recognised (and revokes its session).
      this.sql('DELETE FROM auth_codes WHERE expires_at < ?').run(now - 86_400_000)
      this.sql('DELETE FROM device_codes WHERE expires_at < ?').run(now - 86_400_000)
    })
  }

  async insertOidcLogin(row: OidcLoginRow): Promise<void> {
    return this.batch.write(() => {
      this.sql('INSERT INTO oidc_logins (id_hash, state, nonce, code_verifier, return_to, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        row.idHash, row.state, row.nonce, row.codeVerifier, row.returnTo, row.expiresAt,
      )
    })
  }

  /** The admin API's queries live in sqlite-admin-queries.ts. */
  private readonly access: admin.SqliteAccess = { sql: (text) => this.sql(text), write: (run) => this.batch.write(run) }
  async searchAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return admin.searchAudit(this.access, query)
  }
  async listSessions(query: SessionQuery): Promise<SessionRow[]> {
    return admin.listSessions(this.access, query)
  }
  async countActiveSessions(now: number): Promise<number> {
    return admin.countActiveSessions(this.access, now)
  }
  async findEmailByUsername(username: string): Promise<string | undefined> {
    return admin.findEmailByUsername(this.access, username)
  }
  async setUserDisabled(email: string, disabled: boolean, now: number, by: string | null, reason: string | null): Promise<boolean> {
    return admin.setUserDisabled(this.access, email, disabled, now, by, reason)
  }
  async isUserDisabled(email: string): Promise<boolean> {
    return admin.isUserDisabled(this.access, email)
  }
  async listDisabledUsers(): Promise<DisabledUserRow[]> {
    return admin.listDisabledUsers(this.access)
  }
  async listRevokedCertificates(nowSeconds: number): Promise<RevokedCertificates> {
    return admin.listRevokedCertificates(this.access, nowSeconds)
  }

  /** One process owns the SQLite file, so no other replica can revoke anything: nothing to hear. */
  onRevocation(_listener: RevocationListener): () => void {
    return () => undefined
  }

  async takeOidcLogin(idHash: string, now: number): Promise<OidcLoginRow | undefined> {
    return this.batch.write(() => {
      const row = this.sql('SELECT * FROM oidc_logins WHERE id_hash = ?').get(idHash) as SqlRow | undefined
      if (!row) return undefined
      this.sql('DELETE FROM oidc_logins WHERE id_hash = ?').run(idHash)
      if ((row.expires_at as number) < now) return undefined
      return {
        idHash, state: row.state as string, nonce: row.nonce as string, codeVerifier: row.code_verifier as string,
        returnTo: row.return_to as string, expiresAt: row.expires_at as number,
      }
    })
  }
}
