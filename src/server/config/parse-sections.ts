import { parseHostSpec } from '../../ssh/config.js'
import { isUnixAccountName } from '../policy/principals.js'
import { parsePasswordHash } from '../identity/password-hash.js'
import { isCidr, isLoopbackHost, parseHostPort } from './address.js'
import { ConfigNode } from './config-node.js'
import type { IdentityConfig, LocalIdentityConfig, LocalUser, MemberList, OidcIdentityConfig, TargetAddress } from './types.js'

export const CERTIFICATE_EXTENSIONS = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
] as const
/** Interactive shells, scp and sftp work; forwarding of agents, ports and X11 must be granted by a rule. */
export const DEFAULT_EXTENSIONS = ['permit-pty']

const EMAIL = /^[^\s@<>"]+@[a-z0-9.-]+\.[a-z]{2,}$/i

/** A host name (or pattern) through the shared validator, lower-cased; the validator's message on failure. */
export function hostName(node: ConfigNode, allowPattern: boolean): string {
  // In a policy rule, a lone "*" means every host (the shared validator refuses it for ssh_config use).
  if (allowPattern && node.value === '*') return '*'
  try {
    return parseHostSpec(node.string(), { allowPattern, allowPort: false }).host.toLowerCase()
  } catch (error) {
    node.fail(error instanceof Error ? error.message : 'not a valid host name')
  }
}

export function cidrList(node: ConfigNode): string[] | undefined {
  if (node.missing) return undefined
  const list = node.stringList()
  list.forEach((cidr, index) => {
    if (!isCidr(cidr)) node.list()[index]!.fail(`expected an address or CIDR like "10.0.0.5/32", got "${cidr}"`)
  })
  if (list.length === 0) node.fail('must not be empty (leave it out instead)')
  return list
}

export function parseSourceAddress(node: ConfigNode): string[] | undefined {
  return cidrList(node)
}

/** root always; the config adds to it (e.g. admin accounts that a name-derived principal must never reach). */
export function parseForbiddenPrincipals(node: ConfigNode): string[] {
  const names = node.list().map((item) => {
    const name = item.string().toLowerCase()
    if (!isUnixAccountName(name)) item.fail(`"${name}" is not a unix account name`)
    return name
  })
  return [...new Set(['root', ...names])]
}

function localUser(node: ConfigNode): LocalUser {
  node.onlyKeys(['username', 'email', 'name', 'groups', 'password_hash'])
  const username = node.child('username').string()
  if (!/^[a-z_][a-z0-9_.-]{0,31}$/.test(username)) node.child('username').fail('expected a lower-case account name like "alice"')
  const email = node.child('email').string()
  if (!EMAIL.test(email)) node.child('email').fail(`"${email}" is not an email address`)
  const passwordHash = node.child('password_hash').string()
  const problem = parsePasswordHash(passwordHash)
  if (typeof problem === 'string') node.child('password_hash').fail(problem)
  return { username, email: email.toLowerCase(), name: node.child('name').optionalString(), groups: node.child('groups').stringList(), passwordHash }
}

/** `sessionLifetimeMs`: the default of `reauthenticate_after`. */
export function parseIdentity(node: ConfigNode, sessionLifetimeMs: number): IdentityConfig {
  node.onlyKeys(['local', 'oidc'])
  const local = node.child('local')
  const oidc = node.child('oidc')
  if (local.missing && oidc.missing) node.fail('configure "local" users, an "oidc" provider, or both')
  return { local: local.missing ? undefined : parseLocalUsers(local), oidc: oidc.missing ? undefined : parseOidc(oidc, sessionLifetimeMs) }
}

function parseLocalUsers(local: ConfigNode): LocalIdentityConfig {
  local.onlyKeys(['users'])
  const users = local.child('users').list().map(localUser)
  if (users.length === 0) local.child('users').fail('add at least one user')
  const seen = new Set<string>()
  users.forEach((user, index) => {
    if (seen.has(user.username)) local.child('users').list()[index]!.child('username').fail(`duplicate user "${user.username}"`)
    seen.add(user.username)
  })
  return { users }
}

function parseOidc(oidc: ConfigNode, sessionLifetimeMs: number): OidcIdentityConfig {
  oidc.onlyKeys(['issuer', 'client_id', 'client_secret', 'scopes', 'groups_claim', 'username_claim', 'assume_email_verified', 'revalidate_every', 'reauthenticate_after', 'allow_insecure_issuer'])
  const issuerNode = oidc.child('issuer')
  const issuer = issuerNode.string()
  const allowInsecureIssuer = oidc.child('allow_insecure_issuer').boolean(false)
  let issuerUrl: URL
  try {
    issuerUrl = new URL(issuer)
  } catch {
    return issuerNode.fail('expected an https:// URL')
  }
  if (issuerUrl.protocol === 'http:') {
    if (!isLoopbackHost(issuerUrl.hostname.replace(/^\[|\]$/g, ''))) issuerNode.fail('expected an https:// URL (http:// only for a provider on a loopback address, with allow_insecure_issuer: true)')
    if (!allowInsecureIssuer) issuerNode.fail('is http://: for a trial with a provider on this machine, set identity.oidc.allow_insecure_issuer: true')
  } else if (issuerUrl.protocol !== 'https:') {
    issuerNode.fail('expected an https:// URL')
  }
  const scopes = oidc.child('scopes').missing ? ['openid', 'email', 'profile'] : oidc.child('scopes').stringList()
  if (!scopes.includes('openid')) oidc.child('scopes').fail('must include "openid"')
  return {
    issuer,
    clientId: oidc.child('client_id').string(),
    clientSecret: oidc.child('client_secret').optionalString(),
    scopes,
    groupsClaim: oidc.child('groups_claim').string('groups'),
    usernameClaim: oidc.child('username_claim').optionalString(),
    assumeEmailVerified: oidc.child('assume_email_verified').boolean(false),
    revalidateMs: oidc.child('revalidate_every').duration(5 * 60_000, { min: 1_000, max: 86_400_000 }),
    reauthenticateAfterMs: oidc.child('reauthenticate_after').duration(sessionLifetimeMs, { min: 60_000, max: 30 * 86_400_000 }),
    allowInsecureIssuer,
  }
}

/** `{users, groups}`: admins, auditors, a request rule's approvers and break-glass people (users lower-cased, as matched). */
export function parseMemberList(node: ConfigNode): MemberList {
  node.onlyKeys(['users', 'groups'])
  return { users: node.child('users').stringList().map((user) => user.toLowerCase()), groups: node.child('groups').stringList() }
}

export function parseTargets(node: ConfigNode): Map<string, TargetAddress> {
  const targets = new Map<string, TargetAddress>()
  for (const [key, value] of node.entries()) {
    const name = hostName(new ConfigNode(value.file, key, value.path), false)
    const address = parseHostPort(value.string(), 22)
    if (!address || address.port === 0) return value.fail('expected an address like "10.0.0.5:22" or "vm.internal:2222"')
    if (targets.has(name)) value.fail(`duplicate target "${name}"`)
    targets.set(name, address)
  }
  return targets
}

/**
 * A URL the server sends to (a checkpoint receiver, a webhook): https://, or http:// on a loopback address;
 * no credentials in it (`credentials` says where they go instead).
 */
export function outboundUrl(node: ConfigNode, example: string, credentials: string): URL {
  let url: URL
  try {
    url = new URL(node.string())
  } catch {
    return node.fail(`expected a URL like "${example}"`)
  }
  if (url.username || url.password) node.fail(credentials)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname.replace(/^\[|\]$/g, '')))) {
    node.fail('must be https:// (http:// only for a loopback address)')
  }
  return url
}
