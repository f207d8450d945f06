import type { AuthContext, Identity } from '../../identity/identity.js'
import { jsonOrNull, toAuthCode, toDeviceCode, toOidcLogin, toRefreshToken, type DbRow } from '../row-mappers.js'
import type { AuthCodeRow, DeviceCodeRow, OAuthStore, OidcLoginRow, RefreshTokenRow } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteOAuth implements OAuthStore {
  constructor(private readonly db: SqliteDatabase) {}

  async insertAuthCode(row: AuthCodeRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, identity, auth, created_at, expires_at, used_at, session_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`).run(
        row.codeHash, row.clientId, row.redirectUri, row.codeChallenge, JSON.stringify(row.identity), jsonOrNull(row.auth), row.createdAt, row.expiresAt,
      )
    })
  }

  async consumeAuthCode(codeHash: string, now: number): Promise<{ row: AuthCodeRow; firstUse: boolean } | undefined> {
    return this.db.write(() => {
      const row = this.db.sql('SELECT * FROM auth_codes WHERE code_hash = ?').get(codeHash) as DbRow | undefined
      if (!row) return undefined
      const firstUse = this.db.sql('UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL').run(now, codeHash).changes === 1
      return { row: toAuthCode(row), firstUse }
    })
  }

  async attachSessionToAuthCode(codeHash: string, sessionId: string): Promise<void> {
    return this.db.write(() => {
      this.db.sql('UPDATE auth_codes SET session_id = ? WHERE code_hash = ?').run(sessionId, codeHash)
    })
  }

  async insertDeviceCode(row: DeviceCodeRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO device_codes (device_code_hash, user_code, client_id, created_at, expires_at, interval_seconds, last_polled_at,
        status, identity, decided_at, requester_ip, requester_user_agent, session_id) VALUES (?, ?, ?, ?, ?, ?, NULL, 'pending', NULL, NULL, ?, ?, NULL)`).run(
        row.deviceCodeHash, row.userCode, row.clientId, row.createdAt, row.expiresAt, row.intervalSeconds, row.requesterIp, row.requesterUserAgent,
      )
    })
  }

  async getDeviceCode(deviceCodeHash: string): Promise<DeviceCodeRow | undefined> {
    const row = this.db.sql('SELECT * FROM device_codes WHERE device_code_hash = ?').get(deviceCodeHash) as DbRow | undefined
    return row && toDeviceCode(row)
  }

  async getDeviceCodeByUserCode(userCode: string): Promise<DeviceCodeRow | undefined> {
    const row = this.db.sql('SELECT * FROM device_codes WHERE user_code = ?').get(userCode) as DbRow | undefined
    return row && toDeviceCode(row)
  }

  async recordDevicePoll(deviceCodeHash: string, now: number, intervalSeconds: number): Promise<void> {
    return this.db.write(() => {
      this.db.sql('UPDATE device_codes SET last_polled_at = ?, interval_seconds = ? WHERE device_code_hash = ?').run(now, intervalSeconds, deviceCodeHash)
    })
  }

  async decideDeviceCode(userCode: string, decision: 'approved' | 'denied', approver: { identity: Identity; auth: AuthContext } | null, now: number): Promise<boolean> {
    return this.db.write(() => {
      return this.db.sql(`UPDATE device_codes SET status = ?, identity = ?, auth = ?, decided_at = ? WHERE user_code = ? AND status = 'pending'`)
        .run(decision, jsonOrNull(approver?.identity), jsonOrNull(approver?.auth), now, userCode).changes === 1
    })
  }

  async consumeDeviceCode(deviceCodeHash: string, sessionId: string): Promise<boolean> {
    return this.db.write(() => {
      return this.db.sql(`UPDATE device_codes SET status = 'consumed', session_id = ? WHERE device_code_hash = ? AND status = 'approved'`)
        .run(sessionId, deviceCodeHash).changes === 1
    })
  }

  async insertRefreshToken(row: RefreshTokenRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql('INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, NULL)').run(
        row.tokenHash, row.sessionId, row.createdAt, row.expiresAt,
      )
    })
  }

  async getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    const row = this.db.sql('SELECT * FROM refresh_tokens WHERE token_hash = ?').get(tokenHash) as DbRow | undefined
    return row && toRefreshToken(row)
  }

  async markRefreshTokenUsed(tokenHash: string, now: number): Promise<boolean> {
    return this.db.write(() => this.db.sql('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL').run(now, tokenHash).changes === 1)
  }

  async insertOidcLogin(row: OidcLoginRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql('INSERT INTO oidc_logins (id_hash, state, nonce, code_verifier, return_to, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        row.idHash, row.state, row.nonce, row.codeVerifier, row.returnTo, row.expiresAt,
      )
    })
  }

  async takeOidcLogin(idHash: string, now: number): Promise<OidcLoginRow | undefined> {
    return this.db.write(() => {
      const row = this.db.sql('DELETE FROM oidc_logins WHERE id_hash = ? RETURNING *').get(idHash) as DbRow | undefined
      if (!row || Number(row.expires_at) < now) return undefined
      return toOidcLogin(row)
    })
  }
}
