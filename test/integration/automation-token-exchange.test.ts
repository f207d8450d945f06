// Automation identities (issue 14), at the token endpoint of a real jitssh-server: a GitHub-Actions-shaped
// issuer on loopback signs ID tokens; RFC 8693 token exchange turns one into a short access token of the
// service account its trust maps it to (never a refresh token), and every other token is refused with its
// reason code, in the answer and in the audit log. The issuer's keys are fetched once and cached by kid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../../src/shared/protocol.js'
import { adminCall, signFor } from '../helpers/admin.js'
import { loginWithPassword, startTestServer, testClock, type TestServer } from '../helpers/server.js'
import { GITHUB_CLAIMS, startWorkloadIssuer, type WorkloadIssuer } from '../helpers/workload-issuer.js'

const AUDIENCE = 'https://access.example.com'
const clock = testClock()
let gha: WorkloadIssuer
let stranger: WorkloadIssuer
let srv: TestServer

function serviceAccounts(issuer: string): Array<Record<string, unknown>> {
  return [
    {
      name: 'deploy-bot', owner: 'platform@example.com', hosts: ['*.example.com'], principals: ['deploy'], max_ttl: '5m',
      trusts: [{ name: 'gha-deploy', issuer, audience: AUDIENCE, claims: { repository_id: GITHUB_CLAIMS.repository_id, repository_owner_id: GITHUB_CLAIMS.repository_owner_id } }],
    },
    {
      name: 'retired-bot', owner: 'platform@example.com', hosts: ['*.example.com'], principals: ['deploy'], disabled: true,
      trusts: [{ name: 'gha-retired', issuer, audience: AUDIENCE, claims: { repository_id: '555' } }],
    },
  ]
}

beforeAll(async () => {
  ;[gha, stranger] = await Promise.all([startWorkloadIssuer({ now: clock.now }), startWorkloadIssuer({ now: clock.now })])
  srv = await startTestServer({
    now: clock.now,
    targets: { 'app.example.com': '127.0.0.1:9' },
    policy: [
      { name: 'deploys', service_accounts: ['deploy-bot', 'retired-bot'], hosts: ['*.example.com'], principals: ['deploy', 'admin'], max_ttl: '1h' },
      { name: 'dev', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'], max_ttl: '1h' },
    ],
    config: { service_accounts: serviceAccounts(gha.url), admins: { groups: ['ops'] } },
  })
})
afterAll(async () => {
  await srv?.stop()
  await Promise.all([gha?.stop(), stranger?.stop()])
})

interface TokenAnswer {
  status: number
  body: { access_token?: string; refresh_token?: string; issued_token_type?: string; error?: string; error_description?: string; expires_in?: number }
}

async function exchange(subjectToken: string, extra: Record<string, string> = {}): Promise<TokenAnswer> {
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: ID_TOKEN_TYPE, ...extra }),
  })
  return { status: response.status, body: (await response.json()) as TokenAnswer['body'] }
}

/** The newest audit event of `type`. */
async function lastEvent(type: string): Promise<{ user: string | null; detail: Record<string, unknown> } | undefined> {
  const events = await srv.server.store.audit.read(0, 100_000)
  return events.filter((event) => event.type === type).at(-1)
}

/** Refused with `reason`: in the OAuth answer and in the newest token_exchange.refused event. */
async function expectRefused(answer: TokenAnswer, reason: string): Promise<void> {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400)
  expect(answer.body.access_token).toBeUndefined()
  expect(answer.body.error_description).toContain(`(${reason})`)
  expect((await lastEvent('token_exchange.refused'))?.detail.reason).toBe(reason)
}

describe('token exchange of a CI job\'s ID token', () => {
  it('gives a short access token of the mapped service account, never a refresh token; the exchange is audited with the trust and the claims', async () => {
    const answer = await exchange(await gha.mint({ aud: AUDIENCE }), { requested_token_type: ACCESS_TOKEN_TYPE })
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(answer.body.refresh_token).toBeUndefined()
    expect(answer.body.issued_token_type).toBe(ACCESS_TOKEN_TYPE)
    expect(answer.body.expires_in).toBeLessThanOrEqual(600)
    const me = await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${answer.body.access_token}` } })).json() as { sub: string; admin: boolean }
    expect(me).toMatchObject({ sub: 'service:deploy-bot', admin: false })
    const issued = await lastEvent('token.issue')
    expect(issued).toMatchObject({ user: 'service:deploy-bot', detail: { grant: 'token_exchange', trust: 'gha-deploy', issuer: gha.url } })
    expect(issued!.detail.claims).toMatchObject({ repository: 'octo-org/deploy', repository_id: '123456789', ref: 'refs/heads/main', run_id: '4242' })
  })

  it('signs a certificate within the account\'s scope: its principals (not all the rule grants), its max_ttl; audited with what authenticated it', async () => {
    const { body } = await exchange(await gha.mint({ aud: AUDIENCE }))
    const signed = await signFor(srv.url, body.access_token!, 'app.example.com')
    expect(signed.status, JSON.stringify(signed.body)).toBe(200)
    expect(signed.body.principals).toEqual(['deploy'])
    const lifetime = (Date.parse(signed.body.valid_before) - clock.now()) / 1000
    expect(lifetime).toBeGreaterThan(290)
    expect(lifetime).toBeLessThanOrEqual(300)
    expect((await lastEvent('cert.sign'))).toMatchObject({ user: 'service:deploy-bot', detail: { authenticated_by: 'trust:gha-deploy' } })
    // A host outside the account's own hosts, although the rule would grant it to a person.
    const outside = await signFor(srv.url, body.access_token!, 'db.internal.test')
    expect(outside.status).toBe(403)
  })

  it('refuses a token of another repository that has the same name (repository_id differs): claim_mismatch', async () => {
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE, repository_id: '31337' })), 'claim_mismatch')
  })

  it('refuses a token for another audience: audience', async () => {
    await expectRefused(await exchange(await gha.mint({ aud: 'https://github.com/octo-org' })), 'audience')
  })

  it('refuses an expired token: expired', async () => {
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE }, { iatOffset: -400, lifetime: 300 })), 'expired')
  })

  it('refuses a token used before (its jti): replayed', async () => {
    const token = await gha.mint({ aud: AUDIENCE })
    expect((await exchange(token)).status).toBe(200)
    await expectRefused(await exchange(token), 'replayed')
  })

  it('refuses a pull request\'s token (refs/pull/N/merge) unless a trust allows pull requests: fork_ref', async () => {
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE, ref: 'refs/pull/7/merge', event_name: 'pull_request' })), 'fork_ref')
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE, event_name: 'pull_request_target' })), 'fork_ref')
  })

  it('refuses a token of an issuer no trust names: unknown_issuer (audited about nobody)', async () => {
    await expectRefused(await exchange(await stranger.mint({ aud: AUDIENCE })), 'unknown_issuer')
    expect((await lastEvent('token_exchange.refused'))?.user).toBeNull()
  })

  it('refuses a token of a disabled account: account_disabled (in the config, or by an admin)', async () => {
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE, repository_id: '555' })), 'account_disabled')
    expect((await lastEvent('token_exchange.refused'))?.user).toBe('service:retired-bot')
    const admin = await loginWithPassword(srv.url, 'bob')
    expect((await adminCall(srv.url, admin.access_token, 'service-accounts/disable', { name: 'deploy-bot', reason: 'test' })).status).toBe(200)
    try {
      await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE })), 'account_disabled')
    } finally {
      expect((await adminCall(srv.url, admin.access_token, 'service-accounts/enable', { name: 'deploy-bot' })).status).toBe(200)
    }
    expect((await exchange(await gha.mint({ aud: AUDIENCE }))).status).toBe(200)
  })

  it('refuses a token not valid yet, or one that would live longer than a day: not_yet_valid, lifetime', async () => {
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE }, { iatOffset: 600 })), 'not_yet_valid')
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE }, { iatOffset: 600, noNbf: true })), 'not_yet_valid')
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE }, { lifetime: 2 * 86_400 })), 'lifetime')
  })

  it('refuses forged and unsigned tokens: bad_signature, unknown_kid, unsupported_alg, malformed', async () => {
    const kid = JSON.parse(Buffer.from((await gha.mint({ aud: AUDIENCE })).split('.')[0]!, 'base64url').toString()).kid as string
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE }, { forge: true, kid })), 'bad_signature')
    await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE }, { forge: true, kid: 'never-published' })), 'unknown_kid')
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
    const payload = Buffer.from(JSON.stringify({ ...GITHUB_CLAIMS, iss: gha.url, aud: AUDIENCE, exp: Math.floor(clock.now() / 1000) + 60, iat: Math.floor(clock.now() / 1000), jti: 'x' })).toString('base64url')
    await expectRefused(await exchange(`${header}.${payload}.`), 'unsupported_alg')
    await expectRefused(await exchange('not-a-jwt'), 'malformed')
  })

  it('fetches the issuer\'s keys once and caches them by kid; an unknown kid refetches at most once per cooldown', async () => {
    const before = gha.jwksFetches()
    for (let i = 0; i < 3; i++) expect((await exchange(await gha.mint({ aud: AUDIENCE }))).status).toBe(200)
    expect(gha.jwksFetches()).toBe(before)
    const kid = await gha.rotate()
    // The cooldown since the last fetch has passed: the new kid is fetched once, then cached.
    clock.advance(61_000)
    expect((await exchange(await gha.mint({ aud: AUDIENCE }, { kid }))).status).toBe(200)
    expect((await exchange(await gha.mint({ aud: AUDIENCE }, { kid }))).status).toBe(200)
    expect(gha.jwksFetches()).toBe(before + 1)
    // Forged kids within the cooldown cause no fetch at all.
    for (let i = 0; i < 3; i++) await expectRefused(await exchange(await gha.mint({ aud: AUDIENCE }, { forge: true, kid: `forged-${i}` })), 'unknown_kid')
    expect(gha.jwksFetches()).toBe(before + 1)
  })

  it('refuses what RFC 8693 does not allow here: other token types, delegation, other clients', async () => {
    const token = await gha.mint({ aud: AUDIENCE })
    expect((await exchange(token, { subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' })).body.error).toBe('invalid_request')
    expect((await exchange(token, { actor_token: token, actor_token_type: ID_TOKEN_TYPE })).body.error).toBe('invalid_request')
    expect((await exchange(token, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' })).body.error).toBe('invalid_request')
    expect((await exchange(token, { client_id: 'someone-else' })).status).toBe(401)
  })
})
