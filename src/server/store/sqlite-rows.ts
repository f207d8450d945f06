import type { Identity } from '../identity/identity.js'
import type { DisabledUserRow } from './admin-rows.js'
import type { AuditRecord, AuthCodeRow, CertificateRow, DeviceCodeRow, RefreshTokenRow, SessionRow } from './rows.js'

/** A row as better-sqlite3 returns it (snake_case columns). */
export type SqlRow = Record<string, unknown>

const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value))
const identity = (value: unknown): Identity => JSON.parse(String(value)) as Identity

/** A `disabled_users` row (both stores). */
export function toDisabledUser(row: SqlRow): DisabledUserRow {
  return {
    email: String(row.email),
    disabled: Boolean(row.disabled),
    changedAt: Number(row.changed_at),
    changedBy: row.changed_by === null ? null : String(row.changed_by),
    reason: row.reason === null ? null : String(row.reason),
  }
}

export function toSession(row: SqlRow): SessionRow {
  return {
    id: String(row.id),
    identity: identity(row.identity),
    grant: row.grant_type as SessionRow['grant'],
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: num(row.revoked_at),
    revokedReason: str(row.revoked_reason),
    clientIp: str(row.client_ip),
    userAgent: str(row.user_agent),
  }
}

export function toAuthCode(row: SqlRow): AuthCodeRow {
  return {
    codeHash: String(row.code_hash),
    clientId: String(row.client_id),
    redirectUri: String(row.redirect_uri),
    codeChallenge: String(row.code_challenge),
    identity: identity(row.identity),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: num(row.used_at),
    sessionId: str(row.session_id),
  }
}

export function toDeviceCode(row: SqlRow): DeviceCodeRow {
  return {
    deviceCodeHash: String(row.device_code_hash),
    userCode: String(row.user_code),
    clientId: String(row.client_id),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    intervalSeconds: Number(row.interval_seconds),
    lastPolledAt: num(row.last_polled_at),
    status: row.status as DeviceCodeRow['status'],
    identity: row.identity === null ? null : identity(row.identity),
    decidedAt: num(row.decided_at),
    requesterIp: str(row.requester_ip),
    requesterUserAgent: str(row.requester_user_agent),
    sessionId: str(row.session_id),
  }
}

export function toRefreshToken(row: SqlRow): RefreshTokenRow {
  return {
    tokenHash: String(row.token_hash),
    sessionId: String(row.session_id),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: num(row.used_at),
  }
}

export function toCertificate(row: SqlRow): CertificateRow {
  return {
    serial: String(row.serial),
    sessionId: String(row.session_id),
    userEmail: String(row.user_email),
    host: String(row.host),
    principals: JSON.parse(String(row.principals)) as string[],
    keyId: String(row.key_id),
    fingerprint: String(row.fingerprint),
    validAfter: Number(row.valid_after),
    validBefore: Number(row.valid_before),
    issuedAt: Number(row.issued_at),
  }
}

export function toAudit(row: SqlRow): AuditRecord {
  return {
    seq: Number(row.seq),
    time: String(row.time),
    type: String(row.type),
    user: str(row.user),
    sessionId: str(row.session_id),
    host: str(row.host),
    outcome: row.outcome as AuditRecord['outcome'],
    detail: JSON.parse(String(row.detail)) as Record<string, unknown>,
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  }
}
