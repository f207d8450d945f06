import { createHash } from 'node:crypto'
import type { AuthContext, Identity } from '../identity/identity.js'

/** A signed-in browser as the session service needs it (identity/browser-session.ts SignedIn). */
export interface BrowserSignIn {
  identity: Identity
  auth: AuthContext
  /** SHA-256 hex of the browser session's cookie value: its key in web_sessions. */
  idHash: string
  /** When the browser session ends (Unix ms). */
  expiresAt: number
}

/**
 * The id of the server-side session that belongs to a browser session: derived from the browser session's
 * id hash (itself a hash of the cookie), so every replica finds the same one without storing a link, and
 * nothing about the cookie can be learnt from it (it appears in key ids, sshd logs and the audit log).
 */
export function browserSessionId(webIdHash: string): string {
  return createHash('sha256').update(`jitssh browser session\0${webIdHash}`).digest('base64url').slice(0, 24)
}
