// Service accounts in the config and the policy (issue 14): what a trust may condition on (never the
// name-based `sub`; a name only with its immutable id; a multi-tenant issuer only with an owner or repository
// id), client keys and secrets, rules that name accounts, and the account's own scope capping every grant.
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { renderStarterConfig } from '../../src/server/commands/starter-config.js'
import { parseConfigText } from '../../src/server/config/load-config.js'
import type { ServerConfig } from '../../src/server/config/types.js'
import { identityOfServiceAccount } from '../../src/server/identity/service-accounts.js'
import { decideAccess } from '../../src/server/policy/policy.js'

const HASH = 'scrypt$1024$8$1$AQEBAQEBAQEBAQEBAQEBAQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='
const GITHUB = 'https://token.actions.githubusercontent.com'

function config(accounts: unknown[], policy: unknown[] = []): ServerConfig {
  return parseConfigText(stringify({
    identity: { local: { users: [{ username: 'alice', email: 'alice@example.com', groups: ['dev'], password_hash: HASH }] } },
    service_accounts: accounts,
    policy,
  }), 'config.yaml')
}

const trust = (claims: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name: 'gha', issuer: GITHUB, audience: 'https://access.example.com', claims, ...extra })
const account = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name: 'deploy-bot', owner: 'platform@example.com', hosts: ['*.prod.example.com'], principals: ['deploy'], max_ttl: '10m', ...extra })

describe('service_accounts in the config', () => {
  it('parses an account with a GitHub Actions trust and both kinds of client', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const parsed = config([account({
      trusts: [trust({ repository_id: 123, repository_owner_id: '456', ref: ['refs/heads/main', 'refs/tags/v1'] })],
      clients: [{ id: 'ci-key', public_key: key }, { id: 'ci-secret', secret_hash: HASH }],
    })]).serviceAccounts
    expect(parsed).toEqual([expect.objectContaining({
      name: 'deploy-bot', maxTtlMs: 600_000, disabled: false, principals: ['deploy'],
      trusts: [{ name: 'gha', issuer: GITHUB, audience: 'https://access.example.com', jwksUri: undefined, allowPullRequests: false, claims: { repository_id: ['123'], repository_owner_id: ['456'], ref: ['refs/heads/main', 'refs/tags/v1'] } }],
      clients: [expect.objectContaining({ id: 'ci-key', method: 'private_key_jwt' }), { id: 'ci-secret', method: 'client_secret', secretHash: HASH }],
    })])
  })

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['sub', trust({ sub: 'repo:octo/app:ref:refs/heads/main', repository_id: '1' }), /claims\.sub: conditions on "sub" are refused/],
    ['a repository name without its id', trust({ repository: 'octo/app', repository_owner_id: '1' }), /claims\.repository: "repository" is a name that can be registered again: condition on "repository_id" too/],
    ['GitHub without an owner or repository id', trust({ ref: 'refs/heads/main', environment: 'production' }), /signs tokens for every repository on the platform: condition on repository_id or repository_owner_id/],
    ['no conditions', trust({}), /claims: list the claims a token must have/],
    ['an http issuer off loopback', trust({ repository_id: '1' }, { issuer: 'http://ci.example.com' }), /issuer: must be https:\/\//],
  ])('refuses a trust with %s', (_what, bad, message) => {
    expect(() => config([account({ trusts: [bad] })])).toThrow(message)
  })

  it('refuses weak or unknown client keys, a client without exactly one credential, duplicates, and a principal template', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    expect(() => config([account({ clients: [{ id: 'c', public_key: rsa1024 }] })])).toThrow(/RSA of at least 2048 bits/)
    expect(() => config([account({ clients: [{ id: 'c', public_key: 'not a key' }] })])).toThrow(/expected a PEM public key/)
    expect(() => config([account({ clients: [{ id: 'c', secret_hash: HASH, public_key_file: 'k.pem' }] })])).toThrow(/exactly one of/)
    expect(() => config([account({ clients: [{ id: 'jitssh-cli', secret_hash: HASH }] })])).toThrow(/not jitssh-cli/)
    expect(() => config([account(), account()])).toThrow(/duplicate service account "deploy-bot"/)
    expect(() => config([account({ principals: ['{username}'] })])).toThrow(/not a unix account name/)
    expect(() => config([account({ max_ttl: '10s' })])).toThrow(/max_ttl: must be at least 30s/)
  })

  it('the starter config\'s commented example is valid once uncommented', () => {
    const text = renderStarterConfig({ username: 'admin', email: 'admin@example.com', passwordHash: HASH })
    const uncomment = (block: string): string => block.split('\n').map((line) => line.replace(/^# ?/, '')).join('\n')
    const [accounts, rule] = text.split('\n# service_accounts:\n')[1]!.split('\n# and a rule for it in policy:\n') as [string, string]
    const example = uncomment(accounts).replace(/public_key_file: .*/, `secret_hash: "${HASH}"`)
    const parsed = parseConfigText(`identity: {local: {users: [{username: a, email: a@example.com, password_hash: "${HASH}"}]}}\nservice_accounts:\n${example}\npolicy:\n${uncomment(rule.split('\n\n')[0]!)}\n`, 'config.yaml')
    expect(parsed.serviceAccounts[0]).toMatchObject({ name: 'deploy-bot', trusts: [{ name: 'github-deploy', claims: { ref: ['refs/heads/main'] } }] })
    expect(parsed.policy[0]!.serviceAccounts).toEqual(['deploy-bot'])
  })

  it('lets policy rules name accounts, and refuses names that are not configured', () => {
    const rule = { name: 'deploys', service_accounts: ['deploy-bot'], hosts: ['*.prod.example.com'], principals: ['deploy'] }
    expect(config([account()], [rule]).policy[0]!.serviceAccounts).toEqual(['deploy-bot'])
    expect(() => config([account()], [{ ...rule, service_accounts: ['deploy-bott'] }])).toThrow(/policy\[0\]\.service_accounts\[0\]: no service account named "deploy-bott"/)
  })
})

describe('a service account in the policy', () => {
  const parsed = config([account({ principals: ['deploy', 'backup'], max_ttl: '10m' }), account({ name: 'other-bot' })], [
    { name: 'people', groups: ['dev'], users: ['deploy-bot', 'service:deploy-bot'], email_domains: ['example.com'], hosts: ['*'], principals: ['{username}', 'deploy'], max_ttl: '8h' },
    { name: 'deploys', service_accounts: ['deploy-bot'], hosts: ['*.example.com'], principals: ['deploy', 'admin'], max_ttl: '1h' },
  ])
  const bot = identityOfServiceAccount(parsed.serviceAccounts[0]!)
  const ask = (host: string, identity = bot, requestedTtlMs?: number) =>
    decideAccess(parsed.policy, { identity, host, at: 0, sourceIp: '127.0.0.1', auth: { time: 0, method: 'workload' }, ...(requestedTtlMs ? { requestedTtlMs } : {}) }, { sourceAddress: undefined, forbiddenPrincipals: ['root'] })

  it('is matched only by service_accounts, and gets the intersection: its principals, its hosts, its max_ttl', () => {
    const decision = ask('web.prod.example.com')
    expect(decision).toMatchObject({ allowed: true, rule: 'deploys', principals: ['deploy'], ttlMs: 600_000 })
    expect(decision.checks[0]).toMatchObject({ rule: 'people', outcome: 'not this person' })
  })

  it('is refused a host outside its own hosts, whatever a rule grants', () => {
    expect(ask('db.example.com')).toMatchObject({ allowed: false, code: 'policy.service_scope' })
  })

  it('is refused when the rule grants none of its principals', () => {
    const other = identityOfServiceAccount({ ...parsed.serviceAccounts[0]!, principals: ['backup'] })
    expect(ask('web.prod.example.com', other)).toMatchObject({ allowed: false, code: 'policy.service_scope' })
  })

  it('an account no rule names gets nothing', () => {
    expect(ask('web.prod.example.com', identityOfServiceAccount(parsed.serviceAccounts[1]!))).toMatchObject({ allowed: false, code: 'policy.no_rule' })
  })
})
