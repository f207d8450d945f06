import type { AuthContext, Identity } from '../identity/identity.js'
import type { DisabledUserRow } from './queries.js'
import type { AccessRequestChange } from './store.js'
import type {
  AccessRequestRow, AccessReviewRow, AuditRecord, AuthCodeRow, CertificateRow, DeviceCodeRow, LiveTunnelRow, OidcLoginRow, RecordingRow, RefreshTokenRow,
  ReplicaRow, SessionRow, TerminalTicketRow, UpstreamGrantRow, WebSessionRow,
} from './rows.js'

/**
 * Rows as either driver returns them (snake_case columns, the same in both dialects) → the store's row
 * types. Number() and String() cover both drivers: better-sqlite3 gives numbers, node-postgres gives BIGINT
 * as a decimal string and BOOLEAN as a boolean.
 */
export type DbRow = Record<string, unknown>

const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value))
const identity = (value: unknown): Identity => JSON.parse(String(value)) as Identity
const auth = (value: unknown): AuthContext | null => (value === null || value === undefined ? null : (JSON.parse(String(value)) as AuthContext))

/** JSON text for a nullable JSON column. */
export const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value))

export function toDisabledUser(row: DbRow): DisabledUserRow {
  return {
    email: String(row.email),
    disabled: Boolean(row.disabled),
    changedAt: Number(row.changed_at),
    changedBy: str(row.changed_by),
    reason: str(row.reason),
  }
}

export function toSession(row: DbRow): SessionRow {
  return {
    id: String(row.id),
    identity: identity(row.identity),
    auth: auth(row.auth),
    grant: row.grant_type as SessionRow['grant'],
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: num(row.revoked_at),
    revokedReason: str(row.revoked_reason),
    clientIp: str(row.client_ip),
    userAgent: str(row.user_agent),
  }
}

export function toAuthCode(row: DbRow): AuthCodeRow {
  return {
    codeHash: String(row.code_hash),
    clientId: String(row.client_id),
    redirectUri: String(row.redirect_uri),
    codeChallenge: String(row.code_challenge),
    identity: identity(row.identity),
    auth: auth(row.auth),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: num(row.used_at),
    sessionId: str(row.session_id),
  }
}

export function toDeviceCode(row: DbRow): DeviceCodeRow {
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
    auth: auth(row.auth),
    decidedAt: num(row.decided_at),
    requesterIp: str(row.requester_ip),
    requesterUserAgent: str(row.requester_user_agent),
    sessionId: str(row.session_id),
  }
}

export function toRefreshToken(row: DbRow): RefreshTokenRow {
  return {
    tokenHash: String(row.token_hash),
    sessionId: String(row.session_id),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: num(row.used_at),
  }
}

export function toCertificate(row: DbRow): CertificateRow {
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
    grantId: str(row.grant_id),
  }
}

export function toAccessRequest(row: DbRow): AccessRequestRow {
  return {
    id: String(row.id),
    requester: identity(row.requester),
    rule: String(row.rule),
    host: String(row.host),
    login: String(row.login),
    durationMs: Number(row.duration_ms),
    reason: str(row.reason),
    state: row.state as AccessRequestRow['state'],
    approvalsRequired: Number(row.approvals_required),
    breakGlass: Boolean(row.break_glass),
    createdAt: Number(row.created_at),
    pendingUntil: Number(row.pending_until),
    approvedAt: num(row.approved_at),
    claimBy: num(row.claim_by),
    endsAt: num(row.ends_at),
    firstUsedAt: num(row.first_used_at),
    closedAt: num(row.closed_at),
    closedBy: str(row.closed_by),
    closedReason: str(row.closed_reason),
    clientIp: str(row.client_ip),
  }
}

export const ACCESS_REQUEST_COLUMNS =
  'id, requester_sub, requester_email, requester, rule, host, login, duration_ms, reason, state, approvals_required, break_glass, ' +
  'created_at, pending_until, approved_at, claim_by, ends_at, first_used_at, closed_at, closed_by, closed_reason, client_ip'

/** The values of an access_requests row, in the column order of ACCESS_REQUEST_COLUMNS (break_glass as 0/1 or boolean). */
export function accessRequestValues(row: AccessRequestRow, bool: (value: boolean) => unknown): unknown[] {
  return [
    row.id, row.requester.sub, row.requester.email, JSON.stringify(row.requester), row.rule, row.host, row.login, row.durationMs, row.reason,
    row.state, row.approvalsRequired, bool(row.breakGlass), row.createdAt, row.pendingUntil, row.approvedAt, row.claimBy, row.endsAt,
    row.firstUsedAt, row.closedAt, row.closedBy, row.closedReason, row.clientIp,
  ]
}

export function toAccessReview(row: DbRow): AccessReviewRow {
  return {
    requestId: String(row.request_id),
    reviewer: String(row.reviewer),
    reviewerEmail: String(row.reviewer_email),
    decision: row.decision as AccessReviewRow['decision'],
    reason: str(row.reason),
    at: Number(row.at),
  }
}

/** `(?, ?, ?)` or `($1, $2, $3)` for `columns`. */
export function placeholders(columns: string, dialect: 'sqlite' | 'postgres'): string {
  const count = columns.split(',').length
  return `(${Array.from({ length: count }, (_, i) => (dialect === 'sqlite' ? '?' : `$${i + 1}`)).join(', ')})`
}

export function toAudit(row: DbRow): AuditRecord {
  return {
    seq: Number(row.seq),
    time: String(row.time),
    type: String(row.type),
    user: str(row.user_email),
    sessionId: str(row.session_id),
    host: str(row.host),
    outcome: row.outcome as AuditRecord['outcome'],
    detail: JSON.parse(String(row.detail)) as Record<string, unknown>,
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  }
}

export function toWebSession(row: DbRow): WebSessionRow {
  const created = Number(row.created_at)
  return {
    idHash: String(row.id_hash), identity: identity(row.identity), auth: auth(row.auth) ?? { time: created, method: 'password' },
    createdAt: created, expiresAt: Number(row.expires_at), flow: str(row.flow),
  }
}

export function toUpstreamGrant(row: DbRow): UpstreamGrantRow {
  return {
    id: String(row.id), sub: String(row.sub), claims: JSON.parse(String(row.claims)) as Record<string, unknown>, refreshToken: str(row.refresh_token),
    authTime: Number(row.auth_time), checkedAt: Number(row.checked_at), endedAt: num(row.ended_at), endedReason: str(row.ended_reason),
  }
}

export function toTerminalTicket(row: DbRow): TerminalTicketRow {
  return {
    ticketHash: String(row.ticket_hash), webSession: String(row.web_session), host: String(row.host), login: String(row.login),
    createdAt: Number(row.created_at), expiresAt: Number(row.expires_at),
  }
}

export function toRecording(row: DbRow): RecordingRow {
  return {
    id: String(row.id), sessionId: String(row.session_id), userEmail: String(row.user_email), host: String(row.host), login: String(row.login),
    startedAt: Number(row.started_at), endedAt: num(row.ended_at), durationMs: num(row.duration_ms), size: num(row.size), sha256: str(row.sha256),
    recordInput: Boolean(row.record_input), width: Number(row.width), height: Number(row.height),
  }
}

export const RECORDING_COLUMNS = 'id, session_id, user_email, host, login, started_at, ended_at, duration_ms, size, sha256, record_input, width, height'

/** The values of a recordings row, in the column order of RECORDING_COLUMNS (record_input as 0/1 or a boolean: `bool`). */
export function recordingValues(row: RecordingRow, bool: (value: boolean) => unknown): unknown[] {
  return [
    row.id, row.sessionId, row.userEmail, row.host, row.login, row.startedAt, row.endedAt, row.durationMs, row.size, row.sha256,
    bool(row.recordInput), row.width, row.height,
  ]
}

export const SESSION_COLUMNS = 'id, sub, email, identity, auth, grant_type, created_at, expires_at, revoked_at, revoked_reason, client_ip, user_agent'

export function sessionValues(row: SessionRow): unknown[] {
  return [
    row.id, row.identity.sub, row.identity.email, JSON.stringify(row.identity), jsonOrNull(row.auth), row.grant, row.createdAt, row.expiresAt,
    row.revokedAt, row.revokedReason, row.clientIp, row.userAgent,
  ]
}

export const TERMINAL_TICKET_COLUMNS = 'ticket_hash, web_session, host, login, created_at, expires_at'

export function terminalTicketValues(row: TerminalTicketRow): unknown[] {
  return [row.ticketHash, row.webSession, row.host, row.login, row.createdAt, row.expiresAt]
}

export function toOidcLogin(row: DbRow): OidcLoginRow {
  return {
    idHash: String(row.id_hash), state: String(row.state), nonce: String(row.nonce), codeVerifier: String(row.code_verifier),
    returnTo: String(row.return_to), expiresAt: Number(row.expires_at),
  }
}

/** The values of an audit_events row, in the column order of AUDIT_COLUMNS. */
export function auditValues(record: AuditRecord): unknown[] {
  return [
    record.seq, record.time, record.type, record.user, record.sessionId, record.host, record.outcome,
    JSON.stringify(record.detail), record.prevHash, record.hash,
  ]
}

export const AUDIT_COLUMNS = 'seq, time, type, user_email, session_id, host, outcome, detail, prev_hash, hash'

/** The values of a certificates row, in the column order of CERTIFICATE_COLUMNS. */
export function certificateValues(row: CertificateRow): unknown[] {
  return [
    row.serial, row.sessionId, row.userEmail, row.host, JSON.stringify(row.principals), row.keyId, row.fingerprint,
    row.validAfter, row.validBefore, row.issuedAt, row.grantId,
  ]
}

export const CERTIFICATE_COLUMNS = 'serial, session_id, user_email, host, principals, key_id, fingerprint, valid_after, valid_before, issued_at, grant_id'

const CHANGE_COLUMNS = {
  approvedAt: 'approved_at', claimBy: 'claim_by', endsAt: 'ends_at', firstUsedAt: 'first_used_at',
  closedAt: 'closed_at', closedBy: 'closed_by', closedReason: 'closed_reason',
} as const

/** `SET state = ?, approved_at = ?, ...` for the fields `change` sets, and their values. */
/** For UPDATEs of access requests (both dialects). */
export function changeAssignments(change: AccessRequestChange, placeholder: (index: number) => string, first = 1): { sql: string; values: unknown[] } {
  const sets = [`state = ${placeholder(first)}`]
  const values: unknown[] = [change.state]
  for (const [field, column] of Object.entries(CHANGE_COLUMNS) as Array<[keyof typeof CHANGE_COLUMNS, string]>) {
    if (change[field] === undefined) continue
    values.push(change[field])
    sets.push(`${column} = ${placeholder(first + values.length - 1)}`)
  }
  return { sql: sets.join(', '), values }
}

export function toReplica(row: DbRow): ReplicaRow {
  return {
    id: String(row.id),
    hostname: String(row.hostname),
    pid: Number(row.pid),
    startedAt: Number(row.started_at),
    heartbeatMs: Number(row.heartbeat_ms),
    heartbeatAt: Number(row.heartbeat_at),
    stoppedAt: num(row.stopped_at),
    reapedAt: num(row.reaped_at),
    reapedBy: str(row.reaped_by),
  }
}

export const REPLICA_COLUMNS = 'id, hostname, pid, started_at, heartbeat_ms, heartbeat_at, stopped_at, reaped_at, reaped_by'

export function replicaValues(row: ReplicaRow): unknown[] {
  return [row.id, row.hostname, row.pid, row.startedAt, row.heartbeatMs, row.heartbeatAt, row.stoppedAt, row.reapedAt, row.reapedBy]
}

export function toLiveTunnel(row: DbRow): LiveTunnelRow {
  return {
    id: String(row.id),
    replicaId: String(row.replica_id),
    sessionId: String(row.session_id),
    userEmail: String(row.user_email),
    host: String(row.host),
    openedAt: Number(row.opened_at),
    bytesUp: Number(row.bytes_up),
    bytesDown: Number(row.bytes_down),
    bytesAt: Number(row.bytes_at),
  }
}

export const LIVE_TUNNEL_COLUMNS = 'id, replica_id, session_id, user_email, host, opened_at, bytes_up, bytes_down, bytes_at'

export function liveTunnelValues(row: LiveTunnelRow): unknown[] {
  return [row.id, row.replicaId, row.sessionId, row.userEmail, row.host, row.openedAt, row.bytesUp, row.bytesDown, row.bytesAt]
}
