import type { AuditLog } from './audit/audit-log.js'
import type { TunnelRegistry } from './bastion/tunnel-registry.js'
import type { ServerKeys } from './ca/server-keys.js'
import type { ServerConfig } from './config/types.js'
import type { BrowserSessions } from './identity/browser-session.js'
import type { LoginThrottle } from './identity/login-throttle.js'
import type { AccessTokens } from './oauth/access-token.js'
import type { SessionService } from './sessions/session-service.js'
import type { Store } from './store/store.js'

/** Everything a route needs, built once in app.ts. Clock and store come in from outside (tests inject them). */
export interface ServerContext {
  config: ServerConfig
  store: Store
  audit: AuditLog
  keys: ServerKeys
  now: () => number
  /** The issuer / base URL, e.g. `https://access.example.com` (known after listen when the port is 0). */
  publicUrl: () => string
  sessions: SessionService
  browser: BrowserSessions
  throttle: LoginThrottle
  accessTokens: AccessTokens
  tunnels: TunnelRegistry
}

/** Where the browser may be sent back to after signing in: our own authorize or device pages only. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string') return '/device'
  if (/^\/(authorize\?|device(\?|$))/.test(value) && !/[\r\n\\]/.test(value)) return value
  return '/device'
}

export function loginUrl(returnTo: string): string {
  return `/login?return_to=${encodeURIComponent(returnTo)}`
}
