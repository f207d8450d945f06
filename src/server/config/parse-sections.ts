import { parseHostSpec } from '../../ssh/config.js'
import { checkPrincipalTemplate, isUnixAccountName } from '../policy/principals.js'
import { parsePasswordHash } from '../identity/password-hash.js'
import { isCidr, parseHostPort } from './address.js'
import { ConfigNode } from './config-node.js'
import type { IdentityConfig, LocalUser, MemberList, PolicyRule, TargetAddress } from './types.js'

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

function cidrList(node: ConfigNode): string[] | undefined {
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
  if (local.missing === oidc.missing) node.fail('configure exactly one of "local" or "oidc"')
  if (!local.missing) {
    local.onlyKeys(['users'])
    const users = local.child('users').list().map(localUser)
    if (users.length === 0) local.child('users').fail('add at least one user')
    const seen = new Set<string>()
    users.forEach((user, index) => {
      if (seen.has(user.username)) local.child('users').list()[index]!.child('username').fail(`duplicate user "${user.username}"`)
      seen.add(user.username)
    })
    return { kind: 'local', users }
  }
  oidc.onlyKeys(['issuer', 'client_id', 'client_secret', 'scopes', 'groups_claim', 'username_claim', 'assume_email_verified', 'revalidate_every', 'reauthenticate_after', 'allow_insecure_issuer'])
  const issuer = oidc.child('issuer').string()
  const allowInsecureIssuer = oidc.child('allow_insecure_issuer').boolean(false)
  if (!/^https:\/\//.test(issuer) && !(allowInsecureIssuer && /^http:\/\//.test(issuer))) oidc.child('issuer').fail('expected an https:// URL')
  const scopes = oidc.child('scopes').missing ? ['openid', 'email', 'profile'] : oidc.child('scopes').stringList()
  if (!scopes.includes('openid')) oidc.child('scopes').fail('must include "openid"')
  return {
    kind: 'oidc',
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

export function parsePolicyRule(node: ConfigNode, index: number, defaultTtlMs: number): PolicyRule {
  node.onlyKeys(['name', 'users', 'groups', 'email_domains', 'hosts', 'principals', 'max_ttl', 'extensions', 'source_address', 'record_input'])
  const users = node.child('users').stringList()
  const groups = node.child('groups').stringList()
  const emailDomains = node.child('email_domains').stringList().map((domain) => domain.toLowerCase().replace(/^@/, ''))
  if (users.length + groups.length + emailDomains.length === 0) node.fail('needs at least one of users, groups or email_domains')
  const hosts = node.child('hosts').list().map((host) => hostName(host, true))
  if (hosts.length === 0) node.child('hosts').fail('list at least one host name or pattern')
  const principalNodes = node.child('principals').list()
  if (principalNodes.length === 0) node.child('principals').fail('list at least one principal (e.g. "{email_local}")')
  const principals = principalNodes.map((principal) => {
    const text = principal.string()
    const problem = checkPrincipalTemplate(text)
    if (problem) principal.fail(problem)
    return text
  })
  const extensionsNode = node.child('extensions')
  const extensions = extensionsNode.missing ? DEFAULT_EXTENSIONS : extensionsNode.stringList()
  extensions.forEach((extension, i) => {
    if (!(CERTIFICATE_EXTENSIONS as readonly string[]).includes(extension)) {
      extensionsNode.list()[i]!.fail(`unknown extension "${extension}" (one of: ${CERTIFICATE_EXTENSIONS.join(', ')})`)
    }
  })
  return {
    name: node.child('name').string(`policy[${index}]`),
    users: users.map((user) => user.toLowerCase()),
    groups,
    emailDomains,
    hosts,
    principals,
    maxTtlMs: node.child('max_ttl').duration(defaultTtlMs, { min: 60_000, max: 7 * 86_400_000 }),
    extensions: [...new Set(extensions)],
    sourceAddress: parseSourceAddress(node.child('source_address')),
    recordInput: node.child('record_input').boolean(false),
  }
}

/** `admins` and `auditors`: `{users, groups}`. */
export function parseMemberList(node: ConfigNode): MemberList {
  node.onlyKeys(['users', 'groups'])
  return { users: node.child('users').stringList(), groups: node.child('groups').stringList() }
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
