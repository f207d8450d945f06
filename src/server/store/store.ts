import type { Identity } from '../identity/identity.js'
import type {
  AuditDraft, AuditRecord, AuthCodeRow, CertificateRow, DeviceCodeRow, OidcLoginRow, RefreshTokenRow, SessionRow,
  WebSessionRow,
} from './rows.js'
import type { AuditQuery, DisabledUserRow, RevokedCertificates, SessionQuery } from './admin-rows.js'
import type { RevocationListener } from './revocation-events.js'

export type * from './rows.js'
export type * from './admin-rows.js'
export type * from './revocation-events.js'

/**
 * Everything the server persists. Async so that a PostgreSQL implementation fits the same shape; every
 * "compare and set" method is atomic (single-use codes and refresh tokens rely on it). `now` arguments are
 * the server's clock in Unix ms, so tests can inject time.
 */
export interface Store {
  close(): Promise<void>
  ping(): Promise<void>

  createSession(row: SessionRow): Promise<void>
  getSession(id: string): Promise<SessionRow | undefined>
  /** Sets revoked_at once; false when the session is unknown or already revoked. */
  revokeSession(id: string, now: number, reason: string): Promise<boolean>

  createWebSession(row: WebSessionRow): Promise<void>
  getWebSession(idHash: string): Promise<WebSessionRow | undefined>
  deleteWebSession(idHash: string): Promise<void>

  insertAuthCode(row: AuthCodeRow): Promise<void>
  /** Marks the code used. `firstUse` is false when it had been used before (a replay). */
  consumeAuthCode(codeHash: string, now: number): Promise<{ row: AuthCodeRow; firstUse: boolean } | undefined>
  attachSessionToAuthCode(codeHash: string, sessionId: string): Promise<void>

  insertDeviceCode(row: DeviceCodeRow): Promise<void>
  getDeviceCode(deviceCodeHash: string): Promise<DeviceCodeRow | undefined>
  getDeviceCodeByUserCode(userCode: string): Promise<DeviceCodeRow | undefined>
  /** Records a poll and the (possibly raised) interval. */
  recordDevicePoll(deviceCodeHash: string, now: number, intervalSeconds: number): Promise<void>
  /** pending → approved|denied; false when it was no longer pending. */
  decideDeviceCode(userCode: string, decision: 'approved' | 'denied', identity: Identity | null, now: number): Promise<boolean>
  /** approved → consumed, remembering the session; false when it was not approved (or already consumed). */
  consumeDeviceCode(deviceCodeHash: string, sessionId: string): Promise<boolean>

  insertRefreshToken(row: RefreshTokenRow): Promise<void>
  getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined>
  /** Marks it used; false when it had already been used (a reuse). */
  markRefreshTokenUsed(tokenHash: string, now: number): Promise<boolean>

  /** Records an issued certificate and its audit event in one durable write (one fsync on the hot path). */
  recordCertificate(row: CertificateRow, audit: AuditDraft, now: number): Promise<AuditRecord>
  listCertificates(filter: { sessionId?: string; userEmail?: string }): Promise<CertificateRow[]>

  /** Appends one event to the hash chain, atomically with respect to other writers, durably. */
  appendAudit(draft: AuditDraft, now: number): Promise<AuditRecord>
  /** Events in seq order, from `afterSeq` (exclusive), at most `limit`. */
  readAudit(afterSeq: number, limit: number): Promise<AuditRecord[]>

  recordLoginFailure(key: string, now: number): Promise<void>
  countLoginFailures(key: string, since: number): Promise<number>
  clearLoginFailures(key: string): Promise<void>

  /** Deletes expired codes, browser sessions, pending logins and old login failures. */
  purgeExpired(now: number, loginFailuresBefore: number): Promise<void>

  insertOidcLogin(row: OidcLoginRow): Promise<void>
  /** Returns and deletes the pending upstream login (single use); undefined when unknown or expired. */
  takeOidcLogin(idHash: string, now: number): Promise<OidcLoginRow | undefined>

  // Admin API (issue 6).
  /** Audit events matching every filter, in `order`, at most `limit`. */
  searchAudit(query: AuditQuery): Promise<AuditRecord[]>
  /** Sessions, newest first: active ones only unless `includeEnded`. */
  listSessions(query: SessionQuery): Promise<SessionRow[]>
  /** How many sessions are active at `now` (neither revoked nor ended): the sessions gauge of /metrics. */
  countActiveSessions(now: number): Promise<number>
  /** The email of the user whose newest session has this username (or sub); undefined when none. */
  findEmailByUsername(username: string): Promise<string | undefined>
  /** Disables or enables a user by email; false when it was already so. */
  setUserDisabled(email: string, disabled: boolean, now: number, by: string | null, reason: string | null): Promise<boolean>
  isUserDisabled(email: string): Promise<boolean>
  listDisabledUsers(): Promise<DisabledUserRow[]>
  /** Serials of certificates still valid at `nowSeconds` whose session is revoked or whose user is disabled. */
  listRevokedCertificates(nowSeconds: number): Promise<RevokedCertificates>

  /**
   * Revocations (revokeSession, setUserDisabled to true) made through *other* Store instances on the same
   * database, i.e. other replicas, as soon as they commit; a `resync` when some may have been missed.
   * Returns the unsubscribe. SQLite serves one process only, so it never calls the listener.
   */
  onRevocation(listener: RevocationListener): () => void
}
