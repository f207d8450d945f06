import type { AuthContext, Identity } from '../identity/identity.js'

/** Rows the server keeps. Times are Unix milliseconds; secrets are stored only as SHA-256 hex hashes. */

export interface SessionRow {
  id: string
  /** The person as of the login (listings, audit); every use re-resolves them. */
  identity: Identity
  /** How and when they authenticated (null for sessions from before this was kept). */
  auth: AuthContext | null
  /**
   * How it began: a person's login, a browser's server-side session for its terminals (see
   * sessions/web-terminal-session.ts), or a service account's token exchange (RFC 8693) or client credentials.
   */
  grant: 'authorization_code' | 'device_code' | 'web' | 'token_exchange' | 'client_credentials'
  createdAt: number
  /** Absolute end: no token, certificate or tunnel outlives it. */
  expiresAt: number
  revokedAt: number | null
  revokedReason: string | null
  clientIp: string | null
  userAgent: string | null
}

export interface WebSessionRow {
  idHash: string
  identity: Identity
  auth: AuthContext
  createdAt: number
  expiresAt: number
  /**
   * SHA-256 of the authorize request this sign-in was started for: /authorize skips its confirmation page
   * once, for exactly that request (the person just typed their password for it).
   */
  flow: string | null
}

/**
 * A one-time ticket for a browser terminal's WebSocket: handed to the page by a CSRF-checked POST, good for
 * seconds, for one host and login, and only with the browser session (`webSession`, its id hash) it was made for.
 */
export interface TerminalTicketRow {
  /** SHA-256 hex of the ticket. */
  ticketHash: string
  webSession: string
  host: string
  login: string
  createdAt: number
  expiresAt: number
}

/**
 * A browser terminal's recording (asciicast v2): its text is in chunks (`RecordingStore.append`), the header
 * first; size, SHA-256 and duration are set when it ends (null while it runs, or if the server died first).
 */
export interface RecordingRow {
  id: string
  /** The session the terminal ran under (its certificate's). */
  sessionId: string
  userEmail: string
  host: string
  login: string
  startedAt: number
  endedAt: number | null
  durationMs: number | null
  /** Bytes of the .cast file. */
  size: number | null
  /** SHA-256 hex of the .cast file. */
  sha256: string | null
  /** Whether keystrokes were recorded ("i" events; the policy rule's record_input). */
  recordInput: boolean
  /** Terminal size at the start (the header's width and height). */
  width: number
  height: number
}

export interface AuthCodeRow {
  codeHash: string
  clientId: string
  redirectUri: string
  codeChallenge: string
  identity: Identity
  auth: AuthContext | null
  createdAt: number
  expiresAt: number
  usedAt: number | null
  /** The session created when the code was exchanged (revoked if the code is replayed). */
  sessionId: string | null
}

export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'consumed'

export interface DeviceCodeRow {
  deviceCodeHash: string
  /** Normalised: 8 letters, no dash. */
  userCode: string
  clientId: string
  createdAt: number
  expiresAt: number
  intervalSeconds: number
  lastPolledAt: number | null
  status: DeviceCodeStatus
  identity: Identity | null
  /** How the approver authenticated (set with `identity` when approved). */
  auth: AuthContext | null
  decidedAt: number | null
  requesterIp: string | null
  requesterUserAgent: string | null
  sessionId: string | null
}

export interface RefreshTokenRow {
  tokenHash: string
  sessionId: string
  createdAt: number
  expiresAt: number
  usedAt: number | null
}

export interface CertificateRow {
  /** Decimal string of the unsigned 64-bit serial. */
  serial: string
  sessionId: string
  userEmail: string
  host: string
  principals: string[]
  keyId: string
  /** `SHA256:...` of the certified public key. */
  fingerprint: string
  /** Unix seconds, as in the certificate. */
  validAfter: number
  validBefore: number
  issuedAt: number
  /** The access request whose grant it was issued under (its early revocation puts it on the KRL). */
  grantId: string | null
}

/**
 * pending → approved | denied | expired | cancelled; approved → active (first use) | expired (not used by
 * claim_by); approved | active → ended (its window is over) | revoked.
 */
export type AccessRequestState = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'active' | 'ended' | 'revoked'

/** A person's request for access to a host (or pattern) as one login, for a duration; once approved, a grant. */
export interface AccessRequestRow {
  /** `req-` and 10 random characters: typed by people, shown in links. */
  id: string
  /** The requester as of the request (listings, reviews); every use re-resolves them. */
  requester: Identity
  /** The policy rule it was made under (its `request:` block). */
  rule: string
  /** A host name, or a pattern within the rule's hosts. */
  host: string
  login: string
  durationMs: number
  reason: string | null
  state: AccessRequestState
  approvalsRequired: number
  breakGlass: boolean
  createdAt: number
  pendingUntil: number
  /** When it was approved: the use window starts here. */
  approvedAt: number | null
  /** Approved but not used by then: expired. */
  claimBy: number | null
  /** The end of the use window: no certificate or tunnel outlives it. */
  endsAt: number | null
  firstUsedAt: number | null
  /** When it left for good (denied, expired, cancelled, ended, revoked), by whom (an email, or `system`) and why. */
  closedAt: number | null
  closedBy: string | null
  closedReason: string | null
  clientIp: string | null
}

export interface AccessReviewRow {
  requestId: string
  /** The reviewer's stable key (Identity.sub) and email. */
  reviewer: string
  reviewerEmail: string
  decision: 'approve' | 'deny'
  reason: string | null
  at: number
}

export type AuditOutcome = 'ok' | 'denied' | 'error'

/** What a caller writes; the store assigns seq, time and the chain hashes. */
export interface AuditDraft {
  type: string
  user: string | null
  sessionId: string | null
  host: string | null
  outcome: AuditOutcome
  detail: Record<string, unknown>
}

export interface AuditRecord extends AuditDraft {
  seq: number
  /** ISO 8601 with milliseconds. */
  time: string
  prevHash: string
  hash: string
}

/** The newest row of the chain, as the next row links to it. */
export interface AuditHead {
  seq: number
  hash: string
}

/** Makes the next record of the chain from a draft and the head it follows (undefined: the first row). */
export type AuditSeal = (draft: AuditDraft, previous: AuditHead | undefined, now: number) => AuditRecord

export interface OidcLoginRow {
  idHash: string
  state: string
  nonce: string
  codeVerifier: string
  returnTo: string
  expiresAt: number
}

/**
 * An OpenID Connect login kept for re-checking the person at the provider: its refresh token (encrypted with a
 * key from keys_dir), the claims last seen, and when they were last checked. Sessions point at it
 * (AuthContext.upstreamId); when the provider refuses the person, it ends, and every session on it with it.
 */
export interface UpstreamGrantRow {
  id: string
  /** Identity.sub (`oidc:<issuer>#<sub>`). */
  sub: string
  /** The claims as the provider last gave them (ID token and userinfo). */
  claims: Record<string, unknown>
  /** Encrypted refresh token; null when the provider issued none (then only reauthenticate_after bounds it). */
  refreshToken: string | null
  authTime: number
  checkedAt: number
  endedAt: number | null
  endedReason: string | null
}

/**
 * A server process sharing the database (one on SQLite; each replica on PostgreSQL), from its start: a random
 * id, and a heartbeat it renews every `heartbeatMs`. One that stopped cleanly says so; one that fell silent for
 * several heartbeats is taken for dead and reaped once, by one other process, which closes its live tunnels.
 */
export interface ReplicaRow {
  id: string
  hostname: string
  pid: number
  startedAt: number
  heartbeatMs: number
  heartbeatAt: number
  stoppedAt: number | null
  /** When another process (`reapedBy`) took it for dead and closed what it left open. */
  reapedAt: number | null
  reapedBy: string | null
}

/** A tunnel open through the bastion, kept while it lives so that a process that dies cannot leave it open in the audit log. */
export interface LiveTunnelRow {
  /** Random; the tunnel's open and close audit events carry it as `tunnel`. */
  id: string
  replicaId: string
  sessionId: string
  userEmail: string
  host: string
  openedAt: number
  /** Bytes carried as of `bytesAt` (written with each heartbeat, not per byte). */
  bytesUp: number
  bytesDown: number
  bytesAt: number
}
