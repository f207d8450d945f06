import type { Identity } from '../identity/identity.js'

/** Rows the server keeps. Times are Unix milliseconds; secrets are stored only as SHA-256 hex hashes. */

export interface SessionRow {
  id: string
  identity: Identity
  grant: 'authorization_code' | 'device_code'
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
  createdAt: number
  expiresAt: number
}

export interface AuthCodeRow {
  codeHash: string
  clientId: string
  redirectUri: string
  codeChallenge: string
  identity: Identity
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
