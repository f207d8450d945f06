import type { AuditLog } from './audit/audit-log.js'
import type { IssuerKeys } from './automation/issuer-keys.js'
import type { UnauthenticatedCallers } from './audit/unauthenticated-callers.js'
import type { TunnelSupervisor } from './bastion/tunnel-supervisor.js'
import type { ServerKeys } from './ca/server-keys.js'
import type { ReloadOutcome } from './config/reload.js'
import type { ServerConfig } from './config/types.js'
import type { BrowserSessions } from './identity/browser-session.js'
import type { Identities } from './identity/identities.js'
import type { KnownDevices } from './identity/known-devices.js'
import type { LoginThrottle } from './identity/login-throttle.js'
import type { AccessTokens } from './oauth/access-token.js'
import type { ReplicaLease } from './replicas/replica-lease.js'
import type { AccessRequests } from './requests/access-requests.js'
import type { WebAssets } from './pages/assets.js'
import type { SessionService } from './sessions/session-service.js'
import type { Store } from './store/store.js'
import type { TerminalService } from './terminal/terminal-service.js'

/**
 * The server's services, built once in app.ts. Each route takes only the ones it uses (`Pick<ServerContext, ...>`
 * in its signature). Clock and store come in from outside (tests inject them).
 */
export interface ServerContext {
  config: ServerConfig
  store: Store
  audit: AuditLog
  keys: ServerKeys
  now: () => number
  /** The issuer / base URL, e.g. `https://access.example.com` (known after listen when the port is 0). */
  publicUrl: () => string
  sessions: SessionService
  /** Who a person is now (re-resolved on every use). */
  identities: Identities
  browser: BrowserSessions
  throttle: LoginThrottle
  knownDevices: KnownDevices
  accessTokens: AccessTokens
  tunnels: TunnelSupervisor
  /** This process among those sharing the database: its replica id, heartbeats, and the reaping of dead ones. */
  replica: ReplicaLease
  /** Access requests and their grants (policy rules with `request:`). */
  requests: AccessRequests
  /** Reads the config file again; see JitsshServer.reload. `by`: the admin who asked (null: SIGHUP). */
  reload(by?: string | null): Promise<ReloadOutcome>
  /** What callers who have not authenticated may cost the audit log (counted, sampled, budgeted). */
  unauthenticated: UnauthenticatedCallers
  /** Browser terminals (they register with `tunnels`). */
  terminals: TerminalService
  /** The browser bundles of the live pages (dist/web). */
  assets: WebAssets
  /** The signing keys of the workload identity issuers that trusts name, cached by kid. */
  issuerKeys: IssuerKeys
}

/**
 * What a route or helper uses: some services, and some roles of the store. E.g. the authorize route is
 * `Uses<'browser' | 'config' | 'now' | 'publicUrl', 'oauth'>`: it cannot reach the audit log or sessions.
 */
export type Uses<Services extends Exclude<keyof ServerContext, 'store'>, Roles extends keyof StoreRoles = never> = Pick<ServerContext, Services> & {
  store: Pick<StoreRoles, Roles>
}

type StoreRoles = Omit<Store, 'close'>
