import { createHash } from 'node:crypto'
import { JitsshError } from '../../shared/errors.js'
import type { ServerConfig, ServiceAccount, ServiceClient, WorkloadTrust } from '../config/types.js'
import { serviceSubject, type AuthContext, type Identity } from './identity.js'

/** Accounts by name, built once per configuration (a reloaded config is a new array). */
const indexes = new WeakMap<ServiceAccount[], Map<string, ServiceAccount>>()

export function findServiceAccount(config: Pick<ServerConfig, 'serviceAccounts'>, name: string): ServiceAccount | undefined {
  let byName = indexes.get(config.serviceAccounts)
  if (!byName) {
    byName = new Map(config.serviceAccounts.map((account) => [account.name, account]))
    indexes.set(config.serviceAccounts, byName)
  }
  return byName.get(name)
}

/**
 * A service account as an Identity: `service:<name>` is both its stable key and the name in audit events,
 * key ids, certificates rows and the disabled list; it has no groups and no email, so rules reach it only
 * through `service_accounts`; its own hosts, principals and max_ttl travel with it as `service`.
 */
export function identityOfServiceAccount(account: ServiceAccount): Identity {
  const key = serviceSubject(account.name)
  return {
    sub: key,
    username: account.name,
    email: key,
    name: `service account (owner: ${account.owner})`,
    groups: [],
    service: { hosts: [...account.hosts], principals: [...account.principals], maxTtlMs: account.maxTtlMs },
  }
}

/** What a session keeps of the credential that authenticated it: enough to tell whether it still stands. */
export function credentialOf(account: ServiceAccount, credential: { trust: WorkloadTrust } | { client: ServiceClient }): NonNullable<AuthContext['credential']> {
  if ('trust' in credential) {
    const { trust } = credential
    const config = { issuer: trust.issuer, audience: trust.audience, jwks_uri: trust.jwksUri ?? null, claims: trust.claims, allow_pull_requests: trust.allowPullRequests }
    return { kind: 'trust', name: trust.name, digest: digest(account.name, config) }
  }
  const { client } = credential
  return { kind: 'client', name: client.id, digest: digest(account.name, client) }
}

function digest(account: string, config: unknown): string {
  return createHash('sha256').update(JSON.stringify([account, config])).digest('base64url')
}

/**
 * The service account behind a session, as the running config has it now: still configured, not disabled
 * there, and the trust or client that authenticated it still configured for it, unchanged (a tightened trust
 * or a rotated key ends what the old one allowed). Otherwise a refusal (ERR_SESSION_REVOKED) naming why.
 */
export function currentServiceIdentity(config: Pick<ServerConfig, 'serviceAccounts'>, snapshot: Identity, auth: AuthContext | null): Identity {
  const name = snapshot.sub.slice('service:'.length)
  const account = findServiceAccount(config, name)
  if (!account) throw refused(`service account ${name} is no longer configured on this server`)
  if (account.disabled) throw refused(`service account ${name} is disabled in the server's configuration`)
  const held = auth?.credential
  const now = held?.kind === 'trust'
    ? account.trusts.find((trust) => trust.name === held.name)
    : held?.kind === 'client'
      ? account.clients.find((client) => client.id === held.name)
      : undefined
  if (!held || !now) throw refused(`the credential that authenticated service account ${name} is no longer configured for it`)
  const current = held.kind === 'trust' ? credentialOf(account, { trust: now as WorkloadTrust }) : credentialOf(account, { client: now as ServiceClient })
  if (current.digest !== held.digest) throw refused(`the ${held.kind} ${held.name} of service account ${name} has changed since it authenticated`)
  return identityOfServiceAccount(account)
}

/** For a service account's audit events: what authenticated its session (`trust:<name>` or `client:<id>`); nothing for a person. */
export function authenticatedBy(auth: AuthContext | null): { authenticated_by?: string } {
  return auth?.credential ? { authenticated_by: `${auth.credential.kind}:${auth.credential.name}` } : {}
}

function refused(reason: string): JitsshError {
  return new JitsshError('ERR_SESSION_REVOKED', reason)
}
