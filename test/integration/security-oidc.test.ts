// OpenID Connect people are decided by claims they cannot change (issue 11), and their provider's "no"
// ends their access: a real oidc-provider on loopback issues refresh tokens; jitssh-server re-checks people
// with them once `revalidate_every` has passed (the server's clock is moved in the test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminCall, refreshWith, signFor } from '../helpers/admin.js'
import { oidcLogin, startOidcProvider, type OidcAccount, type RunningOidcProvider } from '../helpers/oidc-provider.js'
import { startTestServer, testClock, type TestServer } from '../helpers/server.js'

const ACCOUNTS: Record<string, OidcAccount> = {
  alice: { email: 'alice@example.com', groups: ['dev'], preferred_username: 'alice' },
  admin: { email: 'admin@example.com', groups: ['it'] },
  dave: { email: 'dave@example.com', groups: ['ops'] },
  // Chose their own display name "root" / "alice": many providers let people edit preferred_username.
  mallory: { email: 'mallory@example.com', groups: ['dev'], preferred_username: 'root' },
  eve: { email: 'eve@example.com', groups: ['guests'], preferred_username: 'alice' },
  // The provider sends no email_verified at all.
  nora: { email: 'nora@example.com', groups: ['dev'], email_verified: undefined },
}

const clock = testClock()
let idp: RunningOidcProvider
const servers: TestServer[] = []

async function serverWith(oidc: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Promise<TestServer> {
  const srv = await startTestServer({
    now: clock.now,
    oidc: { issuer: idp.issuer, client_id: `jitssh-${servers.length}`, client_secret: 'test-secret', scopes: ['openid', 'email', 'profile', 'groups'], allow_insecure_issuer: true, revalidate_every: '5s', ...oidc },
    policy: [
      { name: 'by-name', users: ['alice'], hosts: ['named.example.com'], principals: ['{username}'] },
      { name: 'dev', groups: ['dev'], hosts: ['*.dev.example.com'], principals: ['{username}'] },
    ],
    config: { admins: { users: ['alice', 'admin@example.com'] }, ...config },
  })
  servers.push(srv)
  await idp.registerClient({ client_id: `jitssh-${servers.length - 1}`, client_secret: 'test-secret', redirect_uris: [`${srv.url}/oidc/callback`] })
  return srv
}

beforeAll(async () => {
  idp = await startOidcProvider({ accounts: structuredClone(ACCOUNTS), refreshTokens: true })
})
afterAll(async () => {
  for (const srv of servers) await srv.stop()
  await idp?.stop()
})

describe('claims a person can change decide nothing', () => {
  let srv: TestServer
  beforeAll(async () => {
    srv = await serverWith()
  })

  it('a preferred_username of "root" does not make {username} root: it is the verified email\'s local part', async () => {
    const mallory = (await oidcLogin(srv.url, idp, 'mallory')).tokens!
    const signed = await signFor(srv.url, mallory.access_token, 'vm.dev.example.com')
    expect(signed.status).toBe(200)
    expect(signed.body.principals).toEqual(['mallory'])
  })

  it('a preferred_username of "alice" neither matches `users: [alice]` nor `admins.users: [alice]`', async () => {
    const eve = (await oidcLogin(srv.url, idp, 'eve')).tokens!
    expect((await signFor(srv.url, eve.access_token, 'named.example.com')).status).toBe(403)
    expect((await adminCall(srv.url, eve.access_token, 'sessions')).status).toBe(403)
    const me = (await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${eve.access_token}` } })).json()) as { admin: boolean; sub: string }
    expect(me.admin).toBe(false)
    expect(me.sub).toBe(`oidc:${idp.issuer}#eve`)
  })

  it('an admin\'s `revoke --user NAME` never resolves through a provider username: email or stable key only', async () => {
    const admin = (await oidcLogin(srv.url, idp, 'admin')).tokens!
    const eve = (await oidcLogin(srv.url, idp, 'eve')).tokens!
    // eve calls herself "alice" at the provider; revoking "alice" must not pick her (or anyone) by that name.
    const byName = await adminCall(srv.url, admin.access_token, 'revoke', { user: 'alice' })
    expect(byName.status).toBe(404)
    expect(byName.body.message).toMatch(/no local user named alice .* give the email address instead/)
    expect((await srv.server.store.sessions.get(eve.session_id))?.revokedAt).toBeNull()
    const byKey = await adminCall<{ user: string; revoked_sessions: string[] }>(srv.url, admin.access_token, 'revoke', { user: `oidc:${idp.issuer}#eve` })
    expect(byKey.body.user).toBe('eve@example.com')
    expect(byKey.body.revoked_sessions).toContain(eve.session_id)
  })

  it('an email the provider does not say is verified signs nobody in, unless assume_email_verified is set', async () => {
    const refused = await oidcLogin(srv.url, idp, 'nora')
    expect(refused.tokens).toBeUndefined()
    expect(refused.response.status).toBe(401)
    expect(await refused.response.text()).toContain('does not say that nora@example.com is verified')
    const trusting = await serverWith({ assume_email_verified: true })
    expect((await oidcLogin(trusting.url, idp, 'nora')).tokens).toBeDefined()
  })

  it('with username_claim opted in, a template still never yields root or a configured forbidden principal', async () => {
    const optedIn = await serverWith({ username_claim: 'preferred_username' }, { certificates: { forbidden_principals: ['alice'] } })
    const mallory = (await oidcLogin(optedIn.url, idp, 'mallory')).tokens!
    const root = await signFor(optedIn.url, mallory.access_token, 'vm.dev.example.com')
    expect(root.status).toBe(403)
    expect(root.body.message).toMatch(/yields no valid unix account/)
    const alice = (await oidcLogin(optedIn.url, idp, 'alice')).tokens!
    expect((await signFor(optedIn.url, alice.access_token, 'vm.dev.example.com')).status).toBe(403)
    // The opted-in claim does match `users:` (the operator vouched for it); admin rights stay on stable keys.
    expect((await adminCall(optedIn.url, alice.access_token, 'sessions')).status).toBe(403)
  })
})

describe('the provider is asked again, and its "no" ends access', () => {
  it('a person the provider deleted can no longer sign, refresh or use the browser session, once revalidate_every has passed', async () => {
    const srv = await serverWith()
    const alice = await oidcLogin(srv.url, idp, 'alice')
    const tokens = alice.tokens!
    expect((await signFor(srv.url, tokens.access_token, 'vm.dev.example.com')).status).toBe(200)
    idp.setAccount('alice', undefined)
    try {
      // Within revalidate_every the last answer holds (no call to the provider on every request)...
      expect((await signFor(srv.url, tokens.access_token, 'vm.dev.example.com')).status).toBe(200)
      // ...after it, the provider is asked, refuses, and the session ends for good.
      clock.advance(6_000)
      const refused = await signFor(srv.url, tokens.access_token, 'vm.dev.example.com')
      expect(refused.status).toBe(401)
      expect(refused.body.message).toMatch(/the identity provider no longer accepts alice@example\.com/)
      expect((await refreshWith(srv.url, tokens.refresh_token)).body.error).toBe('invalid_grant')
      expect((await srv.server.store.sessions.get(tokens.session_id))?.revokedAt).not.toBeNull()
      const device = await alice.browser.follow(`${srv.url}/device`, [new URL(srv.url).origin])
      expect(new URL(device.url).pathname).toBe('/login')
    } finally {
      idp.setAccount('alice', { ...ACCOUNTS.alice! })
    }
  })

  it('groups changed at the provider apply after the next re-check, on the same session', async () => {
    const srv = await serverWith()
    const dave = (await oidcLogin(srv.url, idp, 'dave')).tokens!
    expect((await signFor(srv.url, dave.access_token, 'vm.dev.example.com')).status).toBe(403)
    idp.setAccount('dave', { ...ACCOUNTS.dave!, groups: ['dev'] })
    try {
      clock.advance(6_000)
      const signed = await signFor(srv.url, dave.access_token, 'vm.dev.example.com')
      expect(signed.status).toBe(200)
      expect(signed.body.principals).toEqual(['dave'])
    } finally {
      idp.setAccount('dave', { ...ACCOUNTS.dave! })
    }
  })

  it('without a refresh token, reauthenticate_after bounds the login', async () => {
    const quiet = await startOidcProvider({ accounts: structuredClone(ACCOUNTS) })
    const srv = await startTestServer({
      now: clock.now,
      oidc: { issuer: quiet.issuer, client_id: 'q', client_secret: 'test-secret', scopes: ['openid', 'email', 'profile', 'groups'], allow_insecure_issuer: true, reauthenticate_after: '2m' },
      policy: [{ name: 'dev', groups: ['dev'], hosts: ['*.dev.example.com'], principals: ['{username}'] }],
      config: { sessions: { access_token_ttl: '10m' } },
    })
    try {
      await quiet.registerClient({ client_id: 'q', client_secret: 'test-secret', redirect_uris: [`${srv.url}/oidc/callback`] })
      const alice = (await oidcLogin(srv.url, quiet, 'alice')).tokens!
      expect((await signFor(srv.url, alice.access_token, 'vm.dev.example.com')).status).toBe(200)
      clock.advance(3 * 60_000)
      const refused = await signFor(srv.url, alice.access_token, 'vm.dev.example.com')
      expect(refused.status).toBe(401)
      expect(refused.body.message).toMatch(/alice@example\.com must sign in at the identity provider again/)
    } finally {
      await srv.stop()
      await quiet.stop()
    }
  })
})
