import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CLIENT_ID } from '../../shared/protocol.js'
import { parsePasswordHash } from '../identity/password-hash.js'
import { isUnixAccountName } from '../policy/principals.js'
import { isLoopbackHost } from './address.js'
import type { ConfigNode } from './config-node.js'
import { hostName } from './parse-sections.js'
import type { ServiceAccount, ServiceClient, WorkloadTrust } from './types.js'

const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/
const TRUST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/
const CLIENT_ID_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/

/**
 * Claims that carry a name someone chose (and that can be registered again by someone else after a rename or
 * a deletion), with the immutable claim that must be conditioned on beside them. `sub` is refused outright:
 * at GitHub Actions and GitLab it is built from such names.
 */
const NAME_CLAIMS: Record<string, string> = {
  repository: 'repository_id',
  repository_owner: 'repository_owner_id',
  actor: 'actor_id',
  project_path: 'project_id',
  namespace_path: 'namespace_id',
  user_login: 'user_id',
}

/**
 * Issuers that sign tokens for anyone's jobs: a trust must bind the owner or the project by an immutable id,
 * or any repository on the platform could stand for the account.
 */
const MULTI_TENANT_ISSUERS: Array<{ prefix: string; ids: string[] }> = [
  { prefix: 'https://token.actions.githubusercontent.com', ids: ['repository_id', 'repository_owner_id'] },
  { prefix: 'https://gitlab.com', ids: ['project_id', 'namespace_id'] },
]

/** `service_accounts:` — names, trusts and client ids are unique across the whole list. */
export function parseServiceAccounts(node: ConfigNode, baseDir: string): ServiceAccount[] {
  const accounts = node.list().map((item) => parseServiceAccount(item, baseDir))
  const seen = { account: new Set<string>(), trust: new Set<string>(), client: new Set<string>() }
  const keysOf = new Map<string, string | undefined>()
  accounts.forEach((account, index) => {
    const item = node.list()[index]!
    if (seen.account.has(account.name)) item.child('name').fail(`duplicate service account "${account.name}"`)
    seen.account.add(account.name)
    account.trusts.forEach((trust, t) => {
      const trustNode = item.child('trusts').list()[t]!
      if (seen.trust.has(trust.name)) trustNode.child('name').fail(`duplicate trust name "${trust.name}" (trust names are unique across all service accounts)`)
      seen.trust.add(trust.name)
      if (keysOf.has(trust.issuer) && keysOf.get(trust.issuer) !== trust.jwksUri) trustNode.child('jwks_uri').fail(`every trust of issuer ${trust.issuer} must name the same jwks_uri (or none)`)
      keysOf.set(trust.issuer, trust.jwksUri)
    })
    account.clients.forEach((client, c) => {
      if (seen.client.has(client.id)) item.child('clients').list()[c]!.child('id').fail(`duplicate client id "${client.id}"`)
      seen.client.add(client.id)
    })
  })
  return accounts
}

function parseServiceAccount(node: ConfigNode, baseDir: string): ServiceAccount {
  node.onlyKeys(['name', 'owner', 'hosts', 'principals', 'max_ttl', 'disabled', 'trusts', 'clients'])
  const name = node.child('name').string()
  if (!ACCOUNT_NAME.test(name)) node.child('name').fail('expected a lower-case name like "deploy-bot" (letters, digits, _ . -; at most 63)')
  const hosts = node.child('hosts').list().map((host) => hostName(host, true))
  if (hosts.length === 0) node.child('hosts').fail('list at least one host name or pattern it may reach')
  const principals = node.child('principals').list().map((item) => {
    const login = item.string()
    if (!isUnixAccountName(login)) item.fail(`"${login}" is not a unix account name (templates have no meaning here)`)
    return login
  })
  if (principals.length === 0) node.child('principals').fail('list at least one unix account it may log in as')
  const trusts = node.child('trusts').list().map((item) => parseTrust(item))
  const clients = node.child('clients').list().map((item) => parseClient(item, baseDir))
  return {
    name,
    owner: node.child('owner').string(),
    hosts,
    principals: [...new Set(principals)],
    maxTtlMs: node.child('max_ttl').duration(15 * 60_000, { min: 30_000, max: 86_400_000 }),
    disabled: node.child('disabled').boolean(false),
    trusts,
    clients,
  }
}

/** https://, or http:// on loopback (a local test issuer). */
function issuerUrl(node: ConfigNode, what: string): string {
  const text = node.string()
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return node.fail(`expected the ${what} as a URL like "https://token.actions.githubusercontent.com"`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) node.fail('must be https:// (http:// only on loopback)')
  if (url.username || url.password || url.hash) node.fail('must not carry credentials or a fragment')
  return text
}

function parseTrust(node: ConfigNode): WorkloadTrust {
  node.onlyKeys(['name', 'issuer', 'audience', 'jwks_uri', 'claims', 'allow_pull_requests'])
  const name = node.child('name').string()
  if (!TRUST_NAME.test(name)) node.child('name').fail('expected a name like "github-deploy" (letters, digits, _ . : -)')
  const issuer = issuerUrl(node.child('issuer'), 'issuer')
  const jwksNode = node.child('jwks_uri')
  const claimsNode = node.child('claims')
  const claims: Record<string, string[]> = {}
  for (const [claim, value] of claimsNode.entries()) {
    if (!CLAIM_NAME.test(claim)) value.fail('is not a claim name')
    if (claim === 'sub') {
      value.fail('conditions on "sub" are refused: it is built from names that can be registered again; use immutable claims such as repository_id, repository_owner_id, ref, environment')
    }
    const values = Array.isArray(value.value) ? value.list().map(claimValue) : [claimValue(value)]
    if (values.length === 0) value.fail('list at least one value')
    claims[claim] = [...new Set(values)]
  }
  if (Object.keys(claims).length === 0) claimsNode.fail('list the claims a token must have (e.g. repository_id, ref): a trust without conditions would accept every token of the issuer')
  for (const [nameClaim, idClaim] of Object.entries(NAME_CLAIMS)) {
    if (claims[nameClaim] && !claims[idClaim]) claimsNode.child(nameClaim).fail(`"${nameClaim}" is a name that can be registered again: condition on "${idClaim}" too`)
  }
  const tenant = MULTI_TENANT_ISSUERS.find((entry) => issuer === entry.prefix || issuer.startsWith(`${entry.prefix}/`))
  if (tenant && !tenant.ids.some((id) => claims[id])) {
    claimsNode.fail(`this issuer signs tokens for every ${tenant.ids[0]!.split('_')[0]} on the platform: condition on ${tenant.ids.join(' or ')}`)
  }
  return {
    name,
    issuer,
    audience: node.child('audience').string(),
    jwksUri: jwksNode.missing ? undefined : issuerUrl(jwksNode, 'JWKS URL'),
    claims,
    allowPullRequests: node.child('allow_pull_requests').boolean(false),
  }
}

function claimValue(node: ConfigNode): string {
  if (typeof node.value === 'number' && Number.isSafeInteger(node.value)) return String(node.value)
  if (typeof node.value === 'boolean') return String(node.value)
  return node.string()
}

function parseClient(node: ConfigNode, baseDir: string): ServiceClient {
  node.onlyKeys(['id', 'public_key', 'public_key_file', 'secret_hash'])
  const id = node.child('id').string()
  if (!CLIENT_ID_SHAPE.test(id) || id === CLIENT_ID) node.child('id').fail(`expected a client id like "deploy-bot-ci" (not ${CLIENT_ID})`)
  const given = ['public_key', 'public_key_file', 'secret_hash'].filter((key) => !node.child(key).missing)
  if (given.length !== 1) node.fail('give exactly one of public_key, public_key_file (private_key_jwt) or secret_hash (client secret)')
  if (given[0] === 'secret_hash') {
    const secretHash = node.child('secret_hash').string()
    const problem = parsePasswordHash(secretHash)
    if (typeof problem === 'string') node.child('secret_hash').fail(`${problem}; hash the secret with jitssh-server hash-password`)
    return { id, method: 'client_secret', secretHash }
  }
  const keyNode = node.child(given[0]!)
  let pem: string
  if (given[0] === 'public_key_file') {
    const file = resolve(baseDir, keyNode.string())
    try {
      pem = readFileSync(file, 'utf8')
    } catch (error) {
      return keyNode.fail(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  } else {
    pem = keyNode.string()
  }
  let key: KeyObject
  try {
    key = createPublicKey(pem)
  } catch {
    return keyNode.fail('expected a PEM public key ("-----BEGIN PUBLIC KEY-----")')
  }
  const problem = clientKeyProblem(key)
  if (problem) keyNode.fail(problem)
  return { id, method: 'private_key_jwt', publicKey: key.export({ type: 'spki', format: 'pem' }).toString() }
}

/** Ed25519, ECDSA P-256 or P-384, or RSA of at least 2048 bits; a sentence for anything else. */
export function clientKeyProblem(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails
  if (key.asymmetricKeyType === 'ed25519') return undefined
  if (key.asymmetricKeyType === 'ec' && (details?.namedCurve === 'prime256v1' || details?.namedCurve === 'secp384r1')) return undefined
  if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (details?.modulusLength ?? 0) >= 2048) return undefined
  return 'the key must be Ed25519, ECDSA P-256 or P-384, or RSA of at least 2048 bits'
}
