import type { AuthContext, Identity } from '../../identity/identity.js'
import { jsonOrNull, toAuthCode, toDeviceCode, toOidcLogin, toRefreshToken } from '../row-mappers.js'
import type { AuthCodeRow, DeviceCodeRow, OAuthStore, OidcLoginRow, RefreshTokenRow } from '../store.js'
import type { PostgresDatabase } from './database.js'

/** Every compare-and-set is one conditional statement (`UPDATE ... WHERE used_at IS NULL`): atomic across replicas. */
export class PostgresOAuth implements OAuthStore {
  constructor(private readonly db: PostgresDatabase) {}

  async insertAuthCode(row: AuthCodeRow): Promise<void> {
    await this.db.query(
      `INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, identity, auth, created_at, expires_at, used_at, session_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)`,
      [row.codeHash, row.clientId, row.redirectUri, row.codeChallenge, JSON.stringify(row.identity), jsonOrNull(row.auth), row.createdAt, row.expiresAt],
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

  async decideDeviceCode(userCode: string, decision: 'approved' | 'denied', approver: { identity: Identity; auth: AuthContext } | null, now: number): Promise<boolean> {
    const result = await this.db.query(
      `UPDATE device_codes SET status = $2, identity = $3, auth = $4, decided_at = $5 WHERE user_code = $1 AND status = 'pending'`,
      [userCode, decision, jsonOrNull(approver?.identity), jsonOrNull(approver?.auth), now],
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

  async insertOidcLogin(row: OidcLoginRow): Promise<void> {
    await this.db.query('INSERT INTO oidc_logins (id_hash, state, nonce, code_verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
      row.idHash, row.state, row.nonce, row.codeVerifier, row.returnTo, row.expiresAt,
    ])
  }

  /** DELETE ... RETURNING: only one caller ever gets the row. */
  async takeOidcLogin(idHash: string, now: number): Promise<OidcLoginRow | undefined> {
    const [row] = await this.db.rows('DELETE FROM oidc_logins WHERE id_hash = $1 RETURNING *', [idHash])
    if (!row || Number(row.expires_at) < now) return undefined
    return toOidcLogin(row)
  }
}
