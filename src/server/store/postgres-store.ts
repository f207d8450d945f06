import { randomBytes } from 'node:crypto'
import type { Identity } from '../identity/identity.js'
import * as admin from './postgres-admin-queries.js'
import * as audit from './postgres-audit.js'
import { PostgresDatabase } from './postgres-database.js'
import { migratePostgres } from './postgres-migrate.js'
import { DEFAULT_LISTENER_TIMING, PostgresRevocationListener, REVOCATION_CHANNEL, revocationPayload, type ListenerTiming } from './postgres-revocation-listener.js'
import { toAuthCode, toCertificate, toDeviceCode, toRefreshToken, toSession } from './postgres-rows.js'
import { RevocationListeners } from './revocation-events.js'
import type {
  AuditDraft, AuditQuery, AuditRecord, AuthCodeRow, CertificateRow, DeviceCodeRow, DisabledUserRow, OidcLoginRow, RefreshTokenRow,
  RevocationListener, RevokedCertificates, SessionQuery, SessionRow, Store, WebSessionRow,
} from './store.js'

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db` (password from the URL or PGPASSWORD; TLS with `?sslmode=...`). */
  url: string
  poolSize: number
  /** LISTEN for other replicas' revocations (the server); CLI commands leave it off. */
  listenForRevocations: boolean
  listenerTiming?: ListenerTiming
}

/**
 * The store for several replicas: PostgreSQL through a pg.Pool. Every compare-and-set is one conditional
 * statement (`UPDATE ... WHERE used_at IS NULL`), so it is atomic across replicas; the audit chain is
 * appended under an advisory lock (postgres-audit.ts); a revocation NOTIFYs the other replicas in the same
 * statement, so they hear of it exactly when it commits.
 */
export class PostgresStore implements Store {
  /** Tells this instance's own NOTIFYs apart from other replicas'. */
  private readonly origin = randomBytes(9).toString('base64url')
  private readonly revocations = new RevocationListeners()
  private listener: PostgresRevocationListener | undefined

  private constructor(readonly db: PostgresDatabase) {}

  /** Connects, migrates the schema, and (if asked) listens before it resolves. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(new PostgresDatabase({ connectionString: options.url, max: options.poolSize }))
    try {
      await migratePostgres(store.db)
      if (options.listenForRevocations) {
        const listener = new PostgresRevocationListener({ connectionString: options.url }, store.origin, store.revocations, options.listenerTiming ?? DEFAULT_LISTENER_TIMING)
        await listener.start()
        store.listener = listener
      }
    } catch (error) {
      await store.db.close().catch(() => undefined)
      throw error
    }
    return store
  }

  /** The revocation listener's connection, for tests that cut it. */
  get revocationListener(): PostgresRevocationListener | undefined {
    return this.listener
  }

  async close(): Promise<void> {
    await this.listener?.stop()
    await this.db.close()
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1')
  }

  onRevocation(listener: RevocationListener): () => void {
    return this.revocations.add(listener)
  }

  async createSession(row: SessionRow): Promise<void> {
    await this.db.query(
      `INSERT INTO sessions (id, sub, email, identity, grant_type, created_at, expires_at, revoked_at, revoked_reason, client_ip, user_agent)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [row.id, row.identity.sub, row.identity.email, JSON.stringify(row.identity), row.grant, row.createdAt, row.expiresAt,
        row.revokedAt, row.revokedReason, row.clientIp, row.userAgent],
    )
  }

  async getSession(id: string): Promise<SessionRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM sessions WHERE id = $1', [id])
    return row && toSession(row)
  }

  /** The revocation and its NOTIFY are one statement: other replicas hear of it exactly when it commits. */
  async revokeSession(id: string, now: number, reason: string): Promise<boolean> {
    const result = await this.db.query(
      `WITH revoked AS (UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING id)
      SELECT pg_notify('${REVOCATION_CHANNEL}', $4) FROM revoked`,
      [now, reason, id, revocationPayload(this.origin, { kind: 'session', sessionId: id, reason })],
    )
    return result.rowCount === 1
  }

  async createWebSession(row: WebSessionRow): Promise<void> {
    await this.db.query('INSERT INTO web_sessions (id_hash, identity, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
      row.idHash, JSON.stringify(row.identity), row.createdAt, row.expiresAt,
    ])
  }

  async getWebSession(idHash: string): Promise<WebSessionRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM web_sessions WHERE id_hash = $1', [idHash])
    if (!row) return undefined
    return { idHash, identity: JSON.parse(String(row.identity)) as Identity, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) }
  }

  async deleteWebSession(idHash: string): Promise<void> {
    await this.db.query('DELETE FROM web_sessions WHERE id_hash = $1', [idHash])
  }

  async insertAuthCode(row: AuthCodeRow): Promise<void> {
    await this.db.query(
      `INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, identity, created_at, expires_at, used_at, session_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)`,
      [row.codeHash, row.clientId, row.redirectUri, row.codeChallenge, JSON.stringify(row.identity), row.createdAt, row.expiresAt],
    )
  }

  /** Exactly one caller gets `firstUse: true`, with the row as it was before (used_at still null). */
  async consumeAuthCode(codeHash: string, now: number): Promise<{ row: AuthCodeRow; firstUse: boolean } | undefined> {
    const [consumed] = await this.db.rows('UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL RETURNING *', [codeHash, now])
    if (consumed) return { row: { ...toAuthCode(consumed), usedAt: null }, firstUse: true }
    const [row] = await this.db.rows('SELECT * FROM auth_codes WHERE code_hash = $1', [codeHash])
    return row && { row: toAuthCode(row), firstUse: false }
  }

  async attachSessionToAuthCode(codeHash: string, sessionId: string): Promise<void> {
    await this.db.query('UPDATE auth_codes SET session_id = $2 WHERE code_hash = $1', [codeHash, sessionId])
  }

  async insertDeviceCode(row: DeviceCodeRow): Promise<void> {
    await this.db.query(
      `INSERT INTO device_codes (device_code_hash, user_code, client_id, created_at, expires_at, interval_seconds, last_polled_at,
        status, identity, decided_at, requester_ip, requester_user_agent, session_id)
        VALUES ($1, $2, $3, $4, $5, $6, NULL, 'pending', NULL, NULL, $7, $8, NULL)`,
      [row.deviceCodeHash, row.userCode, row.clientId, row.createdAt, row.expiresAt, row.intervalSeconds, row.requesterIp, row.requesterUserAgent],
    )
  }

  async getDeviceCode(deviceCodeHash: string): Promise<DeviceCodeRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM device_codes WHERE device_code_hash = $1', [deviceCodeHash])
    return row && toDeviceCode(row)
  }

  async getDeviceCodeByUserCode(userCode: string): Promise<DeviceCodeRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM device_codes WHERE user_code = $1', [userCode])
    return row && toDeviceCode(row)
  }

  async recordDevicePoll(deviceCodeHash: string, now: number, intervalSeconds: number): Promise<void> {
    await this.db.query('UPDATE device_codes SET last_polled_at = $2, interval_seconds = $3 WHERE device_code_hash = $1', [deviceCodeHash, now, intervalSeconds])
  }

  async decideDeviceCode(userCode: string, decision: 'approved' | 'denied', identity: Identity | null, now: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE device_codes SET status = $2, identity = $3, decided_at = $4 WHERE user_code = $1 AND status = 'pending'`,
      [userCode, decision, identity && JSON.stringify(identity), now],
    )
    return result.rowCount === 1
  }

  async consumeDeviceCode(deviceCodeHash: string, sessionId: string): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE device_codes SET status = 'consumed', session_id = $2 WHERE device_code_hash = $1 AND status = 'approved'`,
      [deviceCodeHash, sessionId],
    )
    return result.rowCount === 1
  }

  async insertRefreshToken(row: RefreshTokenRow): Promise<void> {
    await this.db.query('INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)', [
      row.tokenHash, row.sessionId, row.createdAt, row.expiresAt,
    ])
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM refresh_tokens WHERE token_hash = $1', [tokenHash])
    return row && toRefreshToken(row)
  }

  async markRefreshTokenUsed(tokenHash: string, now: number): Promise<boolean> {
    const result = await this.db.query('UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL', [tokenHash, now])
    return result.rowCount === 1
  }

  async recordCertificate(row: CertificateRow, draft: AuditDraft, now: number): Promise<AuditRecord> {
    return audit.appendAudit(this.db, draft, now, row)
  }

  async listCertificates(filter: { sessionId?: string; userEmail?: string }): Promise<CertificateRow[]> {
    const rows = await this.db.rows(
      'SELECT * FROM certificates WHERE ($1::text IS NULL OR session_id = $1) AND ($2::text IS NULL OR user_email = $2) ORDER BY issued_at',
      [filter.sessionId ?? null, filter.userEmail ?? null],
    )
    return rows.map(toCertificate)
  }

  async appendAudit(draft: AuditDraft, now: number): Promise<AuditRecord> {
    return audit.appendAudit(this.db, draft, now)
  }

  async readAudit(afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return audit.readAudit(this.db, afterSeq, limit)
  }

  async recordLoginFailure(key: string, now: number): Promise<void> {
    await this.db.query('INSERT INTO login_failures (key, at) VALUES ($1, $2)', [key, now])
  }

  async countLoginFailures(key: string, since: number): Promise<number> {
    const [row] = await this.db.rows('SELECT count(*) AS n FROM login_failures WHERE key = $1 AND at >= $2', [key, since])
    return Number(row?.n ?? 0)
  }

  async clearLoginFailures(key: string): Promise<void> {
    await this.db.query('DELETE FROM login_failures WHERE key = $1', [key])
  }

  /** One statement (data-modifying CTEs all run), so one round trip and all-or-nothing. */
  async purgeExpired(now: number, loginFailuresBefore: number): Promise<void> {
    // Keep used codes for a day so a late replay is still recognised (and revokes its session).
    await this.db.query(
      `WITH web AS (DELETE FROM web_sessions WHERE expires_at < $1),
        oidc AS (DELETE FROM oidc_logins WHERE expires_at < $1),
        failures AS (DELETE FROM login_failures WHERE at < $2),
        codes AS (DELETE FROM auth_codes WHERE expires_at < $3),
        devices AS (DELETE FROM device_codes WHERE expires_at < $3)
      SELECT 1`,
      [now, loginFailuresBefore, now - 86_400_000],
    )
  }

  async insertOidcLogin(row: OidcLoginRow): Promise<void> {
    await this.db.query('INSERT INTO oidc_logins (id_hash, state, nonce, code_verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      row.idHash, row.state, row.nonce, row.codeVerifier, row.returnTo, row.expiresAt,
    ])
  }

  /** DELETE ... RETURNING: only one caller ever gets the row. */
  async takeOidcLogin(idHash: string, now: number): Promise<OidcLoginRow | undefined> {
    const [row] = await this.db.rows('DELETE FROM oidc_logins WHERE id_hash = $1 RETURNING *', [idHash])
    if (!row || Number(row.expires_at) < now) return undefined
    return {
      idHash, state: String(row.state), nonce: String(row.nonce), codeVerifier: String(row.code_verifier),
      returnTo: String(row.return_to), expiresAt: Number(row.expires_at),
    }
  }

  async searchAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return audit.searchAudit(this.db, query)
  }
  async listSessions(query: SessionQuery): Promise<SessionRow[]> {
    return admin.listSessions(this.db, query)
  }
  async countActiveSessions(now: number): Promise<number> {
    return admin.countActiveSessions(this.db, now)
  }
  async findEmailByUsername(username: string): Promise<string | undefined> {
    return admin.findEmailByUsername(this.db, username)
  }
  async setUserDisabled(email: string, disabled: boolean, now: number, by: string | null, reason: string | null): Promise<boolean> {
    return admin.setUserDisabled(this.db, this.origin, email, disabled, now, by, reason)
  }
  async isUserDisabled(email: string): Promise<boolean> {
    return admin.isUserDisabled(this.db, email)
  }
  async listDisabledUsers(): Promise<DisabledUserRow[]> {
    return admin.listDisabledUsers(this.db)
  }
  async listRevokedCertificates(nowSeconds: number): Promise<RevokedCertificates> {
    return admin.listRevokedCertificates(this.db, nowSeconds)
  }
}
