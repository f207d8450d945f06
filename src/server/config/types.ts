/**
 * The server configuration after validation: paths are absolute, durations are milliseconds,
 * host names are lower-case. The YAML shape is documented in the starter config (cli/starter-config.ts).
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
  /** Claim used for `{username}`; falls back to the email's local part. */
  usernameClaim: string
  /** Test and development only: allow an http:// issuer (openid-client refuses it otherwise). */
  allowInsecureIssuer: boolean
}

export type IdentityConfig = LocalIdentityConfig | OidcIdentityConfig

/** One policy rule: who (users / groups / email domains) → which hosts → which principals, how long. */
export interface PolicyRule {
  name: string
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
export type StorageConfig =
  | { kind: 'sqlite'; sqlite: string }
  /** `url`: postgres:// or postgresql://; `poolSize`: connections per replica (plus one for LISTEN). */
  | { kind: 'postgres'; url: string; poolSize: number }

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
  certificates: { defaultTtlMs: number; backdateMs: number; sourceAddress: string[] | undefined }
  policy: PolicyRule[]
  /** Lower-case host name → address the bastion connects to. */
  targets: Map<string, TargetAddress>
  admins: { users: string[]; groups: string[] }
  rateLimits: RateLimitConfig
  bastion: { connectTimeoutMs: number; keepaliveMs: number }
  metrics: MetricsConfig
  audit: AuditConfig
  connections: ConnectionsConfig
  logLevel: string
}
