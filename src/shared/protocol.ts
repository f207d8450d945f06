/**
 * Wire shapes shared by the CLI and the server. Field names follow OAuth (snake_case) on the wire.
 */

export const CLIENT_ID = 'jitssh-cli'
/** Exact path of the CLI's loopback redirect URI (RFC 8252 §7.3: any port, 127.0.0.1 or [::1]). */
export const REDIRECT_PATH = '/callback'

/** `GET /.well-known/jitssh` — a superset of RFC 8414 metadata (also at /.well-known/oauth-authorization-server). */
export interface DiscoveryDocument {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  device_authorization_endpoint: string
  revocation_endpoint: string
  jwks_uri: string
  userinfo_endpoint: string
  response_types_supported: string[]
  grant_types_supported: string[]
  code_challenge_methods_supported: string[]
  token_endpoint_auth_methods_supported: string[]
  jitssh: {
    version: 1
    client_id: string
    sign_endpoint: string
    tunnel_endpoint: string
    krl_endpoint: string
    admin_endpoint: string
    /** `ssh-ed25519 AAAA... jitssh-user-ca` */
    user_ca_public_key: string
    host_ca_public_key: string
  }
}

/** Token endpoint success (RFC 6749 §5.1) plus jitssh extensions. */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token: string
  scope?: string
  /** ISO 8601: the absolute end of the server-side session. */
  session_expires_at: string
}

/** RFC 8693 token exchange: the grant, and the token types a CI job's ID token may be presented as. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token'
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt'
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
/** RFC 7523 §2.2: `client_assertion_type` of private_key_jwt. */
export const CLIENT_ASSERTION_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/**
 * What a service account gets from the token endpoint (token exchange, client credentials): a short access
 * token and never a refresh token; it authenticates again when that ends.
 */
export interface ServiceTokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  /** RFC 8693 §2.2.1 (token exchange only). */
  issued_token_type?: string
  /** ISO 8601: the end of the server-side session (certificates never outlive it). */
  session_expires_at: string
}

/** OAuth error body (RFC 6749 §5.2 / RFC 8628 §3.5). */
export interface OAuthErrorBody {
  error: string
  error_description?: string
}

/**
 * How every refusal of a disabled person starts (the token endpoint's and the loopback redirect's
 * error_description, a device poll's access_denied): the CLI says "account disabled" at once, rather than
 * waiting for a login that cannot happen, and does not offer to log in again.
 */
export const ACCOUNT_DISABLED = 'account disabled'

/** Every non-OAuth error from the server: a stable code and a one-line message. */
export interface ApiErrorBody {
  error: string // an ErrorCode from errors.ts
  message: string
  /** The fix, as a command when there is one (e.g. the `jitssh request create ...` that would ask for access). */
  hint?: string
}

/** `GET /v1/me` */
export interface WhoAmI {
  sub: string
  email: string
  name?: string
  groups: string[]
  session_id: string
  session_expires_at: string
  admin: boolean
  /** The server's clock when it answered (ISO 8601): what certificate times are measured by. */
  server_time?: string
}

/** `POST /v1/ssh/sign` — only the key and the host come from the requester. */
export interface SignRequest {
  public_key: string
  hostname: string
  /** A lifetime to ask for, in seconds; the policy rule's max_ttl caps it (default: that max). */
  ttl_seconds?: number
}

export interface SignResponse {
  /** The certificate line as written to `<host>-cert.pub`. */
  certificate: string
  serial: string
  key_id: string
  principals: string[]
  valid_after: string
  valid_before: string
}

/** Device authorization response (RFC 8628 §3.2). */
export interface DeviceAuthorizationResponse {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

/** WebSocket close codes the bastion uses after the upgrade. */
export const TUNNEL_CLOSE = {
  NORMAL: 1000,
  /** The server is shutting down (RFC 6455 "going away"). */
  GOING_AWAY: 1001,
  SESSION_REVOKED: 4001,
  POLICY_DENIED: 4003,
  TARGET_UNREACHABLE: 4502,
  TARGET_CLOSED: 4000,
} as const

/** Admin API (`/v1/admin/...`). */
export interface AuditEvent {
  seq: number
  time: string
  type: string
  user: string | null
  session_id: string | null
  host: string | null
  outcome: 'ok' | 'denied' | 'error'
  detail: Record<string, unknown>
  hash: string
}

export interface AuditPage {
  events: AuditEvent[]
  next_cursor: string | null
}

export interface SessionInfo {
  session_id: string
  user: string
  created_at: string
  expires_at: string
  revoked_at: string | null
  live_tunnels: number
}

/** Extra fields of `SessionInfo` in `GET /v1/admin/sessions` (added with issue 6). */
export interface SessionInfoDetail {
  /** `active`, `revoked`, or `expired`. */
  state: 'active' | 'revoked' | 'expired'
  revoked_reason: string | null
  grant: string
  client_ip: string | null
}

/** `GET /v1/admin/sessions[?all=1][&user=U]`. `live_tunnels` counts the session's tunnels on every replica alive now. */
export interface SessionList {
  sessions: Array<SessionInfo & SessionInfoDetail>
}

/** `GET /v1/admin/tunnels`: the live tunnels of the replica that answered. */
export interface TunnelInfo {
  id: number
  session_id: string
  user: string
  host: string
  opened_at: string
}

export interface TunnelList {
  tunnels: TunnelInfo[]
}

/** `POST /v1/admin/revoke`: exactly one of `session_id` and `user` (an email or a username). */
export interface RevokeRequest {
  session_id?: string
  user?: string
  reason?: string
}

export interface RevokeResult {
  /** The user whose sessions were revoked (null when a session id was unknown to the user lookup). */
  user: string | null
  /** Sessions this request revoked (already revoked or ended ones are not listed). */
  revoked_sessions: string[]
  /** Live tunnels closed on the replica that answered (other replicas close theirs within a second). */
  tunnels_closed: number
}

/** `POST /v1/admin/users/disable` and `/enable`: `{user, reason?}`. */
export interface UserAccessRequest {
  user?: string
  reason?: string
}

export interface UserAccessResult extends RevokeResult {
  user: string
  disabled: boolean
  /** False when the user already was in that state. */
  changed: boolean
}

/** How one of the person's own policy rules answered (rules for other people are never shown). */
export interface RuleAnswer {
  rule: string
  effect: 'allow' | 'deny'
  outcome: string
  detail?: string
}

/** `GET /v1/policy/explain?host=H[&login=L]`: the policy's answer for the caller, now, from where they are. */
export interface Explanation {
  host: string
  login: string | null
  allowed: boolean
  /** When allowed: the rule, the logins, the certificate lifetime, when access ends by itself (window, session). */
  rule?: string
  logins?: string[]
  max_ttl_seconds?: number
  until?: string
  /** When denied: the reason (one sentence), its code, and whether signing in again would help. */
  reason?: string
  code?: string
  step_up?: boolean
  /** When denied: the command that would ask for access through a rule with `request:`, if there is one. */
  request_command?: string
  /** When allowed through an access request: its id. */
  grant?: string
  /** Whether the bastion has this host among its targets (tunnels go only there). */
  target: boolean
  /** The caller's own rules, in order, with their answers. */
  rules: RuleAnswer[]
}

/** `GET /v1/hosts`: what the caller may reach now (and what only at other times), as which logins, until when. */
export interface HostList {
  hosts: Array<{
    host: string
    /**
     * `allowed`: now; `not now`: one of their rules covers it, but a condition does not hold now (the reason
     * says which); `on request`: a rule grants it through an approved access request (`request_command`).
     */
    status: 'allowed' | 'not now' | 'on request'
    logins: string[]
    until: string | null
    reason?: string
    /** Allowed through this access request (its grant ends at `until`). */
    grant?: string
    request_command?: string
  }>
}

export type AccessRequestStateName = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'active' | 'ended' | 'revoked'

/** `POST /v1/requests`: ask for access. The server decides the rule; the duration is capped by it. */
export interface CreateAccessRequest {
  /** A host name, or a pattern within a rule's hosts. */
  host: string
  /** Needed when the rule grants more than one login. */
  login?: string
  duration_seconds: number
  reason?: string
  /** Take it without approval (the rule's break_glass people only; a reason is required; approvers are told). */
  break_glass?: boolean
  /** Check and say what would happen; nothing is stored. */
  dry_run?: boolean
}

/** One access request as the API shows it (to its requester, its rule's approvers, admins). */
export interface AccessRequestView {
  id: string
  state: AccessRequestStateName
  requester: string
  host: string
  login: string
  duration_seconds: number
  reason: string | null
  rule: string
  break_glass: boolean
  approvals_required: number
  approvals: number
  reviews: Array<{ reviewer: string; decision: 'approve' | 'deny'; reason: string | null; at: string }>
  created_at: string
  pending_until: string
  approved_at: string | null
  claim_by: string | null
  ends_at: string | null
  first_used_at: string | null
  closed_at: string | null
  closed_by: string | null
  closed_reason: string | null
  review_url: string
  /** What the caller may do with it now (single-request answers only). */
  can_review?: boolean
  can_revoke?: boolean
  can_cancel?: boolean
}

export interface CreateAccessRequestResponse {
  request: AccessRequestView
  dry_run: boolean
  /** Who may approve (users, `group NAME`). */
  approvers: string[]
  auto_approved: boolean
}

export interface AccessRequestList {
  requests: AccessRequestView[]
}

/** `POST /v1/admin/reload`: the replica that answered read its config file again. */
export interface ReloadResult {
  reloaded: true
  /** The sections that changed (policy, targets, admins, identity, certificates, oauth, bastion, logLevel). */
  changed: string[]
  policy_rules: number
  targets: number
}

/** `GET /v1/admin/users/disabled` */
export interface DisabledUserList {
  users: Array<{ user: string; disabled_at: string; disabled_by: string | null; reason: string | null }>
}

/** A browser terminal's recording (asciicast v2), in `GET /v1/admin/recordings[/ID]`. */
export interface RecordingInfo {
  id: string
  user: string
  host: string
  login: string
  session_id: string
  started_at: string
  /** null while the terminal runs (or when the server stopped before it ended). */
  ended_at: string | null
  duration_ms: number | null
  /** Bytes of the .cast file, and its SHA-256 (hex): as in the terminal.close audit event. */
  size: number | null
  sha256: string | null
  record_input: boolean
}

/** `GET /v1/admin/recordings?user=&host=&since=&until=&limit=` (admins and auditors), newest first. */
export interface RecordingList {
  recordings: RecordingInfo[]
}

/** `GET /v1/admin/service-accounts`: the configured accounts and their state now. */
export interface ServiceAccountList {
  service_accounts: Array<{
    name: string
    /** `service:<name>`: the name in audit events, sessions and `jitssh revoke --user`. */
    user: string
    owner: string
    hosts: string[]
    principals: string[]
    max_ttl_seconds: number
    /** `disabled: true` in the server's config. */
    disabled_in_config: boolean
    /** Disabled by an admin (`jitssh service-accounts disable`), with when and by whom. */
    disabled_by_admin: { disabled_at: string; disabled_by: string | null; reason: string | null } | null
    trusts: Array<{ name: string; issuer: string; audience: string; allow_pull_requests: boolean }>
    clients: Array<{ id: string; method: 'private_key_jwt' | 'client_secret' }>
    active_sessions: number
  }>
}

/** `POST /v1/admin/service-accounts/{disable,enable,revoke}`: `{name, reason?}`. */
export interface ServiceAccountRequest {
  name?: string
  reason?: string
}
