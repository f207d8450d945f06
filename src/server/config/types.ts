/**
 * The server configuration after validation: paths are absolute, durations are milliseconds,
 * host names are lower-case. The YAML shape is documented in the starter config (commands/starter-config.ts).
 */

export interface LocalUser {
  username: string
  email: string
  name: string | undefined
  groups: string[]
  /** `scrypt$N$r$p$salt$hash` (see identity/password-hash.ts). */
  passwordHash: string
}

export interface LocalIdentityConfig {
  kind: 'local'
  users: LocalUser[]
}

export interface OidcIdentityConfig {
  kind: 'oidc'
  issuer: string
  clientId: string
  clientSecret: string | undefined
  scopes: string[]
  groupsClaim: string
  /**
   * Opt-in: a claim for `{username}` and `users:` matching. Off by default, because at many providers people
   * can change their own `preferred_username`; then `{username}` is the verified email's local part.
   */
  usernameClaim: string | undefined
  /** For providers that send no `email_verified` but only ever assert verified addresses; default false. */
  assumeEmailVerified: boolean
  /** Re-check a person at the provider (refresh token) when the last check is older than this. */
  revalidateMs: number
  /** Sign in at the provider again after this long, however long sessions last. */
  reauthenticateAfterMs: number
  /** Test and development only: allow an http:// issuer (openid-client refuses it otherwise). */
  allowInsecureIssuer: boolean
}

export type IdentityConfig = LocalIdentityConfig | OidcIdentityConfig

/**
 * When a rule applies, beyond who and which host: every condition given must hold (at signing, at tunnel
 * open, and for as long as a tunnel or terminal stays open).
 */
export interface RuleConditions {
  /** The client's address as the server sees it (X-Forwarded-For only from trusted_proxies) is in one of these. */
  sourceNetworks?: string[]
  window?: TimeWindow
  /** The person authenticated at most this long ago (else: sign in again, a step-up). */
  maxAuthAgeMs?: number
  /** OIDC: every one of these `amr` values was reported by the provider. */
  amr?: string[]
  /** OIDC: the provider's `acr` is one of these. */
  acr?: string[]
}

/** Days of the week and hours of the day, in an IANA time zone. */
export interface TimeWindow {
  /** 0 = Sunday ... 6 = Saturday. */
  days: number[]
  /** Minutes after midnight, [start, end); a range with end <= start crosses midnight and belongs to the day it starts on. */
  hours: Array<{ start: number; end: number }>
  timeZone: string
  /** As written in the config, for messages: `mon-fri 08:00-18:00 Europe/Berlin`. */
  text: string
}

/** One policy rule: who (users / groups / email domains) → which hosts → which principals, how long. */
export interface PolicyRule {
  name: string
  /** allow (the default) grants; deny refuses whoever and whatever it matches, whatever the allow rules say. */
  effect: 'allow' | 'deny'
  when: RuleConditions | undefined
  users: string[]
  groups: string[]
  emailDomains: string[]
  /** Lower-case host names or ssh-style patterns (`*.prod.example.com`). */
  hosts: string[]
  /** Literal unix account names or templates: `{email_local}`, `{username}`. */
  principals: string[]
  maxTtlMs: number
  extensions: string[]
  /** CIDR list for the certificate's `source-address` critical option; undefined = the global setting. */
  sourceAddress: string[] | undefined
  /**
   * Access on request: the rule grants nothing standing. A person it matches may ask for one of its hosts
   * (or a pattern within them), one of its logins and a duration; what an approved request names is granted
   * (its conditions still apply at every use), and only until the grant ends.
   */
  request: RequestRule | undefined
}

/** Who: the same matching as a rule's users / groups (policy names and group names). */
export interface PeopleList {
  users: string[]
  groups: string[]
}

/** A policy rule's `request:` block (see requests/access-requests.ts for the lifecycle). */
export interface RequestRule {
  /** The longest use window a request may ask for; it starts at approval. */
  maxDurationMs: number
  /** A request not decided within this long expires. */
  pendingForMs: number
  /** An approved request not used within this long after approval expires (the claim-by deadline). */
  claimWithinMs: number
  reasonRequired: boolean
  /** Shown when a reason is asked for ("Ticket number and what you will do"). */
  reasonPrompt: string | undefined
  /** Approvals needed, from distinct approvers other than the requester. */
  approvals: number
  approvers: PeopleList
  /** Approved at once, by nobody, when these conditions hold at creation (e.g. office hours from the office). */
  autoApprove: RuleConditions | undefined
  /** May take access without approval (a reason is required; approvers are notified; audited as break-glass). */
  breakGlass: PeopleList | undefined
}

/** One webhook receiver of access-request events (see requests/webhooks.ts). */
export interface WebhookConfig {
  url: string
  /** HMAC-SHA256 key of the `X-Jitssh-Signature` header. */
  secret: string
  /** The events it receives (`request.created`, ...); all when the config lists none. */
  events: string[]
  timeoutMs: number
  maxQueue: number
}

export interface TargetAddress {
  host: string
  port: number
}

export interface RateLimitConfig {
  /** Failed logins per username within `loginWindowMs` before further tries are refused. */
  loginFailuresPerUser: number
  loginFailuresPerIp: number
  loginWindowMs: number
  /** Wrong user codes per IP on the device page within `loginWindowMs`. */
  userCodeFailuresPerIp: number
  /** Requests per minute per IP. */
  tokenPerMinute: number
  deviceAuthorizationPerMinute: number
  loginPostsPerMinute: number
  /** `POST /v1/ssh/sign` and `GET /v1/tunnel` per minute per IP. */
  signPerMinute: number
  tunnelPerMinute: number
  /** Audit rows unauthenticated callers may cause per minute, per process (see audit/audit-budget.ts). */
  unauthenticatedAuditPerMinute: number
}

/** Where state lives: one SQLite file (one process), or PostgreSQL (several replicas share it). */
/**
 * `heartbeatMs`: how often this process records that it is alive, with the bytes of its live tunnels; a
 * replica silent for three of its heartbeats is taken for dead, and another closes the tunnels it left open.
 */
export type StorageConfig =
  | { kind: 'sqlite'; sqlite: string; heartbeatMs: number }
  /** `url`: postgres:// or postgresql://; `poolSize`: connections per replica (plus one for LISTEN). */
  | { kind: 'postgres'; url: string; poolSize: number; heartbeatMs: number }

/** `GET /metrics` (Prometheus text format): off unless enabled; see config/parse-metrics.ts. */
export interface MetricsConfig {
  enabled: boolean
  /** `Authorization: Bearer <token>` is let in from anywhere; undefined = loopback clients only. */
  token: string | undefined
  /** Loopback clients need no token (false behind a TLS proxy, whose connections come from loopback). */
  allowLoopback: boolean
}

/** Timeouts of HTTP connections and the per-address cap (see config/parse-connections.ts). */
export interface ConnectionsConfig {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  idleTimeoutMs: number
  /** Concurrent connections from one address (not applied behind a TLS proxy: every connection is the proxy's). */
  perIp: number
}

/** An HTTP receiver of checkpoints: each is POSTed as JSON, retried with backoff, from a bounded queue. */
export interface CheckpointHttpSinkConfig {
  url: string
  /** Sent as `Authorization: Bearer <token>`. */
  token: string | undefined
  timeoutMs: number
  /** Checkpoints waiting beyond this many are dropped, oldest first (a newer one covers an older one's rows). */
  maxQueue: number
}

/** `audit:` — signed checkpoints of the chain's head, written outside the database (see config/parse-audit.ts). */
export interface AuditConfig {
  checkpoints: {
    everyEvents: number
    intervalMs: number
    /** An append-only JSON-lines file (0600); undefined = none. */
    file: string | undefined
    /** JSON lines on standard output (the logs are on standard error). */
    stdout: boolean
    http: CheckpointHttpSinkConfig | undefined
  }
}

export interface ServerConfig {
  /** The YAML file this came from (named in errors); relative paths were resolved against its directory. */
  source: string
  /** `https://access.example.com` without a trailing slash; undefined = derived from the bound address (loopback only). */
  publicUrl: string | undefined
  listen: { host: string; port: number }
  tls: { cert: string; key: string } | undefined
  behindTlsProxy: boolean
  /** Addresses / CIDRs whose X-Forwarded-For is believed (only with behindTlsProxy). */
  trustedProxies: string[]
  storage: StorageConfig
  keysDir: string
  identity: IdentityConfig
  sessions: { lifetimeMs: number; accessTokenTtlMs: number; browserLifetimeMs: number }
  oauth: { codeTtlMs: number; deviceCodeTtlMs: number; devicePollIntervalSeconds: number }
  certificates: {
    defaultTtlMs: number
    backdateMs: number
    /**
     * `source-address` of every certificate (unless a rule sets its own): the addresses the bastion reaches
     * targets from, so that a certificate is useless anywhere but through the bastion. Loopback by default
     * when every target is on loopback; required otherwise, unless `directAccess`. Undefined only then.
     */
    sourceAddress: string[] | undefined
    /**
     * Opt-in: certificates may be used without the bastion (no default `source-address`). Then principals are
     * host-bound (`login@host`): targets list them in AuthorizedPrincipalsFile, so a certificate for one host
     * does not log in to another that has the same account.
     */
    directAccess: boolean
    /** Accounts a principal template (`{username}`, `{email_local}`) never yields; always includes root. */
    forbiddenPrincipals: string[]
  }
  policy: PolicyRule[]
  /** Lower-case host name → address the bastion connects to. */
  targets: Map<string, TargetAddress>
  admins: { users: string[]; groups: string[] }
  rateLimits: RateLimitConfig
  bastion: { connectTimeoutMs: number; keepaliveMs: number }
  metrics: MetricsConfig
  audit: AuditConfig
  connections: ConnectionsConfig
  notifications: { webhooks: WebhookConfig[] }
  logLevel: 'debug' | 'info' | 'warn' | 'error'
}
