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
  /**
   * `record_input`: browser terminals under this rule also record what the person types ("i" events). Off by
   * default: keystrokes include passwords typed at sudo and other prompts.
   */
  recordInput: boolean
}

/** People named by `users` (stable keys and verified emails, see admin/admins.ts) or `groups`. */
export interface MemberList {
  users: string[]
  groups: string[]
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
  admins: MemberList
  /** May list and play back terminal recordings (admins may too), and nothing else of the admin's. */
  auditors: MemberList
  /** Browser terminal recordings: kept this long after they start, then purged. */
  recordings: { retentionMs: number }
  rateLimits: RateLimitConfig
  bastion: { connectTimeoutMs: number; keepaliveMs: number }
  metrics: MetricsConfig
  logLevel: string
}
