import type { AuthContext, Identity } from '../identity/identity.js'
import type {
  AccessRequestRow, AccessRequestState, AccessReviewRow, AuditDraft, AuditRecord, AuditSeal, AuthCodeRow, CertificateRow, DeviceCodeRow,
  LiveTunnelRow, OidcLoginRow, RecordingRow, RefreshTokenRow, ReplicaRow, SessionRow, TerminalTicketRow, UpstreamGrantRow, WebSessionRow,
} from './rows.js'
import type { AuditQuery, DisabledUserRow, RecordingQuery, RevokedCertificates, SessionQuery } from './queries.js'
import type { RevocationListener } from './revocation-events.js'

export type * from './rows.js'
export type * from './queries.js'
export type * from './revocation-events.js'

/**
 * Everything the server persists, as small roles: a service takes the role it uses (the session service
 * `store.sessions`, the audit log `store.audit`, ...), and each dialect implements each role in its own file
 * (store/sqlite/*.ts, store/postgres/*.ts). Every "compare and set" method is atomic across replicas
 * (single-use codes and refresh tokens rely on it). `now` arguments are the server's clock in Unix ms.
 * The contract test (test/integration/store-contract.test.ts) runs the same assertions on both dialects.
 */
export interface Store {
  readonly sessions: SessionStore
  readonly oauth: OAuthStore
  readonly certificates: CertificateStore
  readonly audit: AuditStore
  readonly users: UserStore
  readonly throttles: ThrottleStore
  readonly admin: AdminQueries
  readonly upstream: UpstreamGrantStore
  readonly requests: AccessRequestStore
  readonly recordings: RecordingStore
  readonly replays: ReplayStore
  readonly replicas: ReplicaStore

  /**
   * Revocations (sessions.revoke, users.setDisabled to true, requests.revoke) made through *other* Store instances on the same
   * database, i.e. other replicas, as soon as they commit; a `resync` when some may have been missed.
   * Returns the unsubscribe. SQLite serves one process only, so it never calls the listener.
   */
  onRevocation(listener: RevocationListener): () => void
  /** Deletes expired codes, browser sessions, terminal tickets, pending logins, used token ids, old login failures, and replicas gone for a day. */
  purgeExpired(now: number, loginFailuresBefore: number): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

/** CLI sessions (one per login, with an absolute end and a revoked state) and the browser's sessions. */
export interface SessionStore {
  create(row: SessionRow): Promise<void>
  /** Creates the session unless one with its id exists (then nothing changes); true when this call created it. */
  createIfAbsent(row: SessionRow): Promise<boolean>
  get(id: string): Promise<SessionRow | undefined>
  /** Sets revoked_at once; false when the session is unknown or already revoked. */
  revoke(id: string, now: number, reason: string): Promise<boolean>

  createWeb(row: WebSessionRow): Promise<void>
  getWeb(idHash: string): Promise<WebSessionRow | undefined>
  deleteWeb(idHash: string): Promise<void>
  /** Ends every browser session of a person (by email, or by Identity.sub); returns how many. */
  deleteWebOf(person: { email: string } | { sub: string }): Promise<number>
  /** Clears the session's `flow` if it is `flow`; true then (once: the confirmation is skipped once). */
  takeWebFlow(idHash: string, flow: string): Promise<boolean>

  createTerminalTicket(row: TerminalTicketRow): Promise<void>
  /** Returns and deletes the ticket (single use, also across replicas); undefined when unknown or expired at `now`. */
  takeTerminalTicket(ticketHash: string, now: number): Promise<TerminalTicketRow | undefined>
}

/** What the OAuth endpoints keep between requests: codes, device codes, refresh tokens, pending upstream logins. */
export interface OAuthStore {
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
  decideDeviceCode(userCode: string, decision: 'approved' | 'denied', approver: { identity: Identity; auth: AuthContext } | null, now: number): Promise<boolean>
  /** approved → consumed, remembering the session; false when it was not approved (or already consumed). */
  consumeDeviceCode(deviceCodeHash: string, sessionId: string): Promise<boolean>

  insertRefreshToken(row: RefreshTokenRow): Promise<void>
  getRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined>
  /** Marks it used; false when it had already been used (a reuse). */
  markRefreshTokenUsed(tokenHash: string, now: number): Promise<boolean>

  insertOidcLogin(row: OidcLoginRow): Promise<void>
  /** Returns and deletes the pending upstream login (single use); undefined when unknown or expired. */
  takeOidcLogin(idHash: string, now: number): Promise<OidcLoginRow | undefined>
}

export interface CertificateStore {
  /** Records an issued certificate and its audit event (sealed by `seal`) in one durable write (one fsync on the hot path). */
  record(row: CertificateRow, audit: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord>
  list(filter: { sessionId?: string; userEmail?: string }): Promise<CertificateRow[]>
  /** Serials of certificates still valid at `nowSeconds` whose session is revoked or whose user is disabled. */
  listRevoked(nowSeconds: number): Promise<RevokedCertificates>
}

/**
 * The hash-chained audit log: append-only. The store keeps the rows and the order; how a row is sealed
 * (the keyed hash) is the caller's `seal`, run inside the append's transaction with the head it read.
 */
export interface AuditStore {
  /** Appends one event to the hash chain, atomically with respect to other writers, durably. */
  append(draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord>
  /** Events in seq order, from `afterSeq` (exclusive), at most `limit`. */
  read(afterSeq: number, limit: number): Promise<AuditRecord[]>
  /** The newest event, or undefined when there is none. */
  head(): Promise<AuditRecord | undefined>
}

/** People an admin disabled (keyed by email). */
export interface UserStore {
  /** Disables or enables a user by email; false when it was already so. */
  setDisabled(email: string, disabled: boolean, now: number, by: string | null, reason: string | null): Promise<boolean>
  isDisabled(email: string): Promise<boolean>
}

/** What `ThrottleStore.reserve` shows the caller about one key. */
export interface AttemptsSeen {
  /** Attempts recorded under the key since the window began. */
  count: number
  /** When the newest of them was (Unix ms), or null. */
  lastAt: number | null
}

/** Failed sign-ins and wrong device codes, counted per key (`user:...`, `ip:...`) so every replica sees them. */
export interface ThrottleStore {
  /**
   * Reserves one attempt under every key, atomically with respect to every other reservation of those keys
   * (on every replica): `decide` sees what each key holds since `since` and says whether to go ahead; only
   * then is the attempt recorded under each. Parallel attempts therefore cannot all pass a limit.
   */
  reserve(keys: string[], now: number, since: number, decide: (seen: AttemptsSeen[]) => boolean): Promise<boolean>
  /** Takes back one attempt reserved at `at` under each key (it succeeded: it was no failure). */
  release(keys: string[], at: number): Promise<void>
  recordFailure(key: string, now: number): Promise<void>
  countFailures(key: string, since: number): Promise<number>
  clearFailures(key: string): Promise<void>
}

/** Read-only queries of the admin API and /metrics, across the aggregates above. */
export interface AdminQueries {
  /** Audit events matching every filter, in `order`, at most `limit`. */
  searchAudit(query: AuditQuery): Promise<AuditRecord[]>
  /** Sessions, newest first: active ones only unless `includeEnded`. */
  listSessions(query: SessionQuery): Promise<SessionRow[]>
  /** How many sessions are active at `now` (neither revoked nor ended): the sessions gauge of /metrics. */
  countActiveSessions(now: number): Promise<number>
  /** The email of the newest session of this stable subject (Identity.sub); undefined when none. */
  findEmailBySubject(sub: string): Promise<string | undefined>
  listDisabledUsers(): Promise<DisabledUserRow[]>
}

/**
 * Browser terminal recordings (asciicast v2), readable from every replica: written as numbered chunks while
 * the terminal runs (memory stays bounded), read back in pages.
 */
export interface RecordingStore {
  create(row: RecordingRow): Promise<void>
  /** Appends chunk `seq` (0 = the header line, then 1, 2, ...) of the recording's text. */
  append(id: string, seq: number, data: string): Promise<void>
  /** Sets the end, size, SHA-256 and duration once; false when it had ended (or is unknown). */
  finish(id: string, end: { endedAt: number; durationMs: number; size: number; sha256: string }): Promise<boolean>
  get(id: string): Promise<RecordingRow | undefined>
  list(query: RecordingQuery): Promise<RecordingRow[]>
  /** Chunks after `afterSeq` (exclusive), in order, at most `limit`. */
  chunks(id: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; data: string }>>
  /** Deletes recordings (and their chunks) that started before `startedBefore`; returns how many. */
  purge(startedBefore: number): Promise<number>
}

/** OpenID Connect logins kept to re-check people at their provider (see UpstreamGrantRow). */
export interface UpstreamGrantStore {
  create(row: UpstreamGrantRow): Promise<void>
  get(id: string): Promise<UpstreamGrantRow | undefined>
  /**
   * Takes the turn to re-check the grant at the provider: sets checked_at to `now` if it is still
   * `lastCheckedAt`. One replica wins; the others keep using the claims they have.
   */
  claimCheck(id: string, lastCheckedAt: number, now: number): Promise<boolean>
  /** After a successful re-check: the new claims and (rotated) refresh token. */
  update(id: string, change: { claims: Record<string, unknown>; refreshToken: string | null; checkedAt: number }): Promise<void>
  /** The provider refused the person (or they were revoked): the grant ends; false when it had ended. */
  end(id: string, now: number, reason: string): Promise<boolean>
}

/** What a transition of an access request sets besides its state (the other columns keep their values). */
export type AccessRequestChange = { state: AccessRequestState } & Partial<
  Pick<AccessRequestRow, 'approvedAt' | 'claimBy' | 'endsAt' | 'firstUsedAt' | 'closedAt' | 'closedBy' | 'closedReason'>
>

/** The outcome of `AccessRequestStore.review`. */
export type ReviewOutcome =
  | { outcome: 'recorded'; request: AccessRequestRow; reviews: AccessReviewRow[] }
  /** This reviewer had reviewed it already: nothing changed. */
  | { outcome: 'duplicate'; request: AccessRequestRow; reviews: AccessReviewRow[] }
  /** It is no longer pending (decided, expired, cancelled) or its time to be reviewed is over. */
  | { outcome: 'closed'; request: AccessRequestRow; reviews: AccessReviewRow[] }
  | { outcome: 'unknown' }

/** Access requests (see requests/access-requests.ts): every state change is a compare-and-set on the state. */
export interface AccessRequestStore {
  create(row: AccessRequestRow): Promise<void>
  get(id: string): Promise<{ request: AccessRequestRow; reviews: AccessReviewRow[] } | undefined>
  /** Newest first: one requester's (by Identity.sub), or everyone's; in `states` if given; at most `limit`. */
  list(filter: { requester?: string; states?: AccessRequestState[]; limit: number }): Promise<AccessRequestRow[]>
  /** How many of the requester's requests are pending (a person may hold only so many). */
  countPending(requester: string): Promise<number>
  /**
   * Adds a review (once per reviewer) while the request is pending and before its pending_until, and in the same
   * transaction (locked against every other review, on every replica) applies what `decide` makes of the
   * request and all its reviews so far (an approval that completes the count, a denial), or nothing.
   */
  review(id: string, review: AccessReviewRow, decide: (request: AccessRequestRow, reviews: AccessReviewRow[]) => AccessRequestChange | undefined): Promise<ReviewOutcome>
  /** Applies `change` if the request is in one of `from`; the changed row, or undefined (one caller wins). */
  transition(id: string, from: AccessRequestState[], change: AccessRequestChange): Promise<AccessRequestRow | undefined>
  /**
   * Revokes an approved or active grant (other replicas hear of it, as of a revoked session): its
   * certificates go on the KRL, its tunnels close. The revoked row, or undefined when it was not live.
   */
  revoke(id: string, now: number, by: string, reason: string): Promise<AccessRequestRow | undefined>
  /**
   * The transitions time makes, each applied once across replicas: pending past pending_until and approved
   * past claim_by → expired, approved or active past ends_at → ended. Returns the changed rows with their
   * previous state.
   */
  sweep(now: number): Promise<Array<{ request: AccessRequestRow; from: AccessRequestState }>>
  /** The requester's grants usable at `now`: approved (before claim_by) or active, before ends_at. */
  usable(requester: string, now: number): Promise<AccessRequestRow[]>
}

/**
 * Single-use ids of presented tokens (a CI job's ID token `jti`, a client assertion's `jti`), each kept until
 * the token it came from expires, so that one token authenticates once on every replica.
 */
export interface ReplayStore {
  /** Records `key` as used until `expiresAt`; false when it is recorded already and not yet expired (a replay). Atomic across replicas. */
  claim(key: string, expiresAt: number, now: number): Promise<boolean>
}

/** Bytes a live tunnel has carried so far. */
export interface TunnelBytes {
  id: string
  bytesUp: number
  bytesDown: number
}

/**
 * The server processes sharing this database and the tunnels each holds open (replicas/replica-lease.ts
 * decides who is dead). A tunnel's row is written with its tunnel.open audit event and removed with its
 * tunnel.close, each in one durable write; a process that dies leaves its rows, and the process that reaps it
 * (compare-and-set: exactly one) removes them and writes their tunnel.close events, in one write too. So every
 * tunnel.open gets exactly one tunnel.close, from its own process or from its reaper.
 */
export interface ReplicaStore {
  /**
   * The clock replicas are judged by (heartbeats, silence, live tunnels): the database's on PostgreSQL, so
   * that replicas whose clocks disagree cannot take each other for dead; the process's on SQLite (one process).
   */
  now(): Promise<number>
  register(row: ReplicaRow): Promise<void>
  /** Renews `id`'s heartbeat and writes the bytes of its live tunnels, in one write; false when `id` was reaped (taken for dead). */
  heartbeat(id: string, now: number, bytes: TunnelBytes[]): Promise<boolean>
  /** A clean shutdown (its tunnels are closed, or left to its reaper). */
  stop(id: string, now: number): Promise<void>
  /** Every process but `except` not reaped yet, stopped ones included (they may have left rows behind). */
  unreaped(except: string): Promise<ReplicaRow[]>
  /** The live tunnel's row and its tunnel.open event, in one durable write; refused when `row.replicaId` was reaped. */
  openTunnel(row: LiveTunnelRow, audit: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord>
  /** Removes the row and writes its tunnel.close, in one write; undefined (nothing written) when the row was gone: its process was reaped and the reaper wrote the close. */
  closeTunnel(id: string, audit: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord | undefined>
  /**
   * Takes the reaping of `id` — if it is not reaped yet, and stopped, or silent for `silentBeats` of its own
   * heartbeats (null: whatever its heartbeat, as on SQLite, which one process owns) — and in the same write
   * removes its tunnels' rows and writes a tunnel.close for each (`audit`). Undefined when it was not taken.
   */
  reap(id: string, by: string, now: number, silentBeats: number | null, audit: (tunnel: LiveTunnelRow, replica: ReplicaRow) => AuditDraft, seal: AuditSeal): Promise<AuditRecord[] | undefined>
  /** Live tunnels per session, counted on the processes alive at `now` (neither stopped, reaped, nor silent for `silentBeats`). */
  liveTunnelsBySession(now: number, silentBeats: number): Promise<Map<string, number>>
}
