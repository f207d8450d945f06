import type { MemberList } from '../config/types.js'

/**
 * Who a person is, as the identity source says. A session keeps the copy from its login for listings and
 * the audit trail, but every use re-resolves the person (identity/identities.ts): what counts is what the
 * configuration and the identity provider say now.
 */
export interface Identity {
  /**
   * The stable key: the local username for local users (unique in the config), `oidc:<issuer>#<sub>` for an
   * OpenID Connect user (the provider's subject, which it never reassigns), `service:<name>` for a service
   * account. Never an email or a display name.
   */
  sub: string
  /** Login name, used for the `{username}` principal template. */
  username: string
  /** Lower-case email, verified: the name in audit events, key ids and policy denials (`service:<name>` for a service account). */
  email: string
  name: string | undefined
  groups: string[]
  /** OIDC: the username came from the configured `username_claim` (the operator trusts it for `users:` lists). */
  usernameClaimed?: boolean
  /** A service account: what it may ever reach, as the running config says now (caps every policy grant). */
  service?: ServiceScope
}

/** A service account's own limits: a grant is the intersection of these and the policy rule's. */
export interface ServiceScope {
  hosts: string[]
  principals: string[]
  maxTtlMs: number
}

/**
 * The names a `users:` list of a policy rule matches: the email (verified), the stable key, and the username
 * where it is stable: a local user's, or an OIDC claim the config opted into.
 */
export function policyNames(identity: Identity): string[] {
  if (identity.service !== undefined) return []
  const names = [identity.email, identity.sub]
  if (isLocalSubject(identity.sub) || identity.usernameClaimed === true) names.push(identity.username)
  return names
}

/** The names `admins.users` matches: never a provider's username claim, only stable keys and the verified email. */
export function adminNames(identity: Identity): string[] {
  // A CI job's token never reaches the admin API, whatever admins.users says.
  if (identity.service !== undefined || isServiceSubject(identity.sub)) return []
  const names = [identity.email, identity.sub]
  if (isLocalSubject(identity.sub)) names.push(identity.username)
  return names
}

/**
 * Whether a `{users, groups}` list names the person (admins, auditors, approvers, break-glass): `users` by
 * stable key or verified email (adminNames), never by a provider's username claim; or one of `groups`.
 */
export function isMember(list: MemberList | undefined, identity: Identity): boolean {
  if (!list) return false
  return adminNames(identity).some((name) => list.users.includes(name.toLowerCase())) || identity.groups.some((group) => list.groups.includes(group))
}

/** How and when a person proved who they are, carried from the login to every session it leads to. */
export interface AuthContext {
  /** Unix ms of the authentication itself: our password form, or the provider's `auth_time`. */
  time: number
  method: 'password' | 'oidc' | 'workload' | 'client_credentials'
  /** OIDC: what the provider reported (`amr`, `acr`), for policies that require them. */
  amr?: string[]
  acr?: string
  /** OIDC: the upstream grant (store: upstream_grants) whose refresh token re-checks the person at the provider. */
  upstreamId?: string
  /** The browser session (id hash) that signed in or approved: it ends with the CLI session. */
  webSession?: string
  /**
   * A service account: the trust (workload identity) or client (client credentials) that authenticated it, and
   * a digest of that credential's configuration then. Every use checks it is still configured, unchanged.
   */
  credential?: { kind: 'trust' | 'client'; name: string; digest: string }
}

/** The stable key of an OpenID Connect subject. */
export function oidcSubject(issuer: string, sub: string): string {
  return `oidc:${issuer}#${sub}`
}

export function isLocalSubject(sub: string): boolean {
  return !sub.startsWith('oidc:') && !isServiceSubject(sub)
}

/** The stable key of a service account (never a local username: those have no colon). */
export function serviceSubject(name: string): string {
  return `service:${name}`
}

export function isServiceSubject(sub: string): boolean {
  return sub.startsWith('service:')
}
