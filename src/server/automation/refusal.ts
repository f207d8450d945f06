/**
 * Why an automation credential (a CI job's ID token, a client assertion or secret) was refused: a stable code
 * for the audit log (`detail.reason`) and the token endpoint's answer, and a sentence that names the check
 * but never the value the server expected.
 */
export type RefusalReason =
  | 'malformed'
  | 'unknown_issuer'
  | 'unsupported_alg'
  | 'unknown_kid'
  | 'jwks_unavailable'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'lifetime'
  | 'audience'
  | 'claim_mismatch'
  | 'fork_ref'
  | 'replayed'
  | 'account_disabled'
  | 'unknown_client'
  | 'wrong_method'
  | 'bad_assertion'
  | 'bad_secret'

/** What the refusal is about, as far as it is known (only what a trusted signature vouched for names an account). */
export interface RefusalSubject {
  account?: string
  trust?: string
  client?: string
  issuer?: string
  /** A few claims of the presented token (strings, bounded), for the audit trail. */
  claims?: Record<string, string>
}

export class AutomationRefusal extends Error {
  override readonly name = 'AutomationRefusal'
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly about: RefusalSubject = {},
  ) {
    super(message)
  }
}

/** A refusal with more of its subject known than when it was first thrown. */
export function withSubject(error: AutomationRefusal, about: RefusalSubject): AutomationRefusal {
  return new AutomationRefusal(error.reason, error.message, { ...about, ...error.about })
}
