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
  users: LocalUser[]
}

export interface OidcIdentityConfig {
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
  /** Trials on one machine only: allow an http:// issuer on a loopback address (openid-client refuses it otherwise). */
  allowInsecureIssuer: boolean
}

/**
 * Who may sign in: local users, an OpenID Connect provider, or both (local accounts beside SSO, e.g. for
 * break-glass admins when the provider is down). At least one is configured.
 */
export interface IdentityConfig {
  local: LocalIdentityConfig | undefined
  oidc: OidcIdentityConfig | undefined
}

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

/** One policy rule: who (users / groups / email domains / service accounts) → which hosts → which principals, how long. */
export interface PolicyRule {
  name: string
  /** allow (the default) grants; deny refuses whoever and whatever it matches, whatever the allow rules say. */
  effect: 'allow' | 'deny'
  when: RuleConditions | undefined
  users: string[]
  groups: string[]
  emailDomains: string[]
  /** Names of `service_accounts` entries. Only these lists match a service account; they never match a person. */
  serviceAccounts: string[]
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
  /**
   * `record_input`: browser terminals under this rule also record what the person types ("i" events). Off by
   * default: keystrokes include passwords typed at sudo and other prompts.
   */
  recordInput: boolean
}

/** People named by `users` (stable keys and verified emails) or `groups`: admins, auditors, approvers, break-glass. */
export interface MemberList {
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
  approvers: MemberList
  /** Approved at once, by nobody, when these conditions hold at creation (e.g. office hours from the office). */
  autoApprove: RuleConditions | undefined
  /** May take access without approval (a reason is required; approvers are notified; audited as break-glass). */
  breakGlass: MemberList | undefined
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

/**
 * Workload identity federation (RFC 8693 token exchange): an ID token of a CI provider's issuer, for this
 * audience, whose claims hold every condition, stands for the service account. Conditions are on immutable
 * claims (`repository_id`, not the name-based `sub` or `repository`: names can be registered again).
 */
export interface WorkloadTrust {
  /** Unique among all trusts; audited, and kept in the session so a changed trust ends what it allowed. */
  name: string
  /** Compared exactly with the token's `iss`. */
  issuer: string
  /** One of the token's `aud` values must be exactly this. */
  audience: string
  /** Where the issuer's keys are; undefined: `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  jwksUri: string | undefined
  /** Claim name → the values it may have (strings; a number claim is compared as its decimal text). */
  claims: Record<string, string[]>
  /** Tokens of pull-request runs (`refs/pull/...`, `pull_request*` events) stand for the account only with this. */
  allowPullRequests: boolean
}

/** A client of the client-credentials grant (RFC 6749 §4.4): a key for `private_key_jwt` (RFC 7523), or a secret. */
export type ServiceClient =
  | { id: string; method: 'private_key_jwt'; /** PEM (SPKI): Ed25519, ECDSA P-256/P-384 or RSA of 2048 bits or more. */ publicKey: string }
  | { id: string; method: 'client_secret'; /** scrypt, as `jitssh-server hash-password` prints it. */ secretHash: string }

/**
 * A non-person identity for CI jobs and long-running tools (`service_accounts:`). Its identity key is
 * `service:<name>`; policy rules name it in `service_accounts`, and its own hosts, principals and max_ttl cap
 * whatever a rule grants. It gets short access tokens (never a refresh token) from its trusts or clients.
 */
export interface ServiceAccount {
  name: string
  /** Who answers for it (a person or a team), for listings and the audit trail. */
  owner: string
  /** Host names or patterns it may ever reach (a rule must grant them too). */
  hosts: string[]
  /** Unix accounts it may ever log in as (a rule must grant them too). */
  principals: string[]
  /** Its certificates' longest lifetime (a rule's max_ttl may be shorter). */
  maxTtlMs: number
  /** Set in the config: no token, signature or tunnel (an admin can also disable it at run time). */
  disabled: boolean
  trusts: WorkloadTrust[]
  clients: ServiceClient[]
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
  serviceAccounts: ServiceAccount[]
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
  audit: AuditConfig
  connections: ConnectionsConfig
  notifications: { webhooks: WebhookConfig[] }
  logLevel: 'debug' | 'info' | 'warn' | 'error'
}
