import { createHash } from 'node:crypto'
import { constantTimeEqual } from './secrets.js'

/** RFC 7636 §4.1: 43–128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/
/** S256 challenges are base64url of 32 bytes: exactly 43 characters. */
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/

export function isValidCodeChallenge(challenge: string): boolean {
  return CHALLENGE.test(challenge)
}

export function isValidCodeVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier)
}

export function verifyPkceS256(verifier: string, challenge: string): boolean {
  if (!isValidCodeVerifier(verifier)) return false
  return constantTimeEqual(createHash('sha256').update(verifier).digest('base64url'), challenge)
}
