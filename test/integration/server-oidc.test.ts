// jitssh-server with an upstream OpenID provider (a real oidc-provider in the test): discovery, code + PKCE
// + nonce through the provider, ID-token checks, the email and groups claims in the session, and refusals
// (unverified email, forged state, a callback nobody started).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { oidcLogin, startOidcProvider, type RunningOidcProvider } from '../helpers/oidc-provider.js'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { CLIENT_ID } from '../../src/shared/protocol.js'
import { launchChromium } from '../helpers/chromium.js'
import { REPO_ROOT } from '../helpers/stack.js'
import { TestBrowser, loginWithPassword, pkcePair, startTestServer, type TestServer } from '../helpers/server.js'

let idp: RunningOidcProvider
let srv: TestServer

beforeAll(async () => {
  idp = await startOidcProvider({
    accounts: {
      'u-1001': { email: 'Alice@Example.com', groups: ['dev'], preferred_username: 'alice', name: 'Alice A.' },
      'u-1002': { email: 'dave@example.com', groups: ['ops', 'dba'] },
      'u-1003': { email: 'eve@example.com', email_verified: false, groups: ['dev'] },
    },
  })
  srv = await startTestServer({
    oidc: { issuer: idp.issuer, client_id: 'jitssh', client_secret: 'test-secret', scopes: ['openid', 'email', 'profile', 'groups'], allow_insecure_issuer: true },
    policy: [{ name: 'dev', groups: ['dev'], hosts: ['*.example.com'], principals: ['{username}'] }],
  })
  await idp.registerClient({ client_id: 'jitssh', client_secret: 'test-secret', redirect_uris: [`${srv.url}/oidc/callback`] })
})
afterAll(async () => {
  await srv?.stop()
  await idp?.stop()
})

describe('oidc identity', () => {
  it('signs in through the provider and carries email, groups and username into the session', async () => {
    const { response, tokens } = await oidcLogin(srv.url, idp, 'u-1001')
    expect(response.status).toBe(302)
    expect(response.headers.get('location')!.startsWith('http://127.0.0.1:40123/callback?')).toBe(true)
    const accessToken = tokens!.access_token
    const me = await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })).json()
    expect(me).toMatchObject({ sub: `oidc:${idp.issuer}#u-1001`, email: 'alice@example.com', name: 'Alice A.', groups: ['dev'] })
    const signed = await fetch(`${srv.url}/v1/ssh/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair().publicKey), hostname: 'vm.example.com' }),
    })
    expect(await signed.json()).toMatchObject({ principals: ['alice'] })
    const logins = (await srv.server.store.audit.read(0, 1000)).filter((event) => event.type === 'login' && event.outcome === 'ok')
    expect(logins.at(-1)).toMatchObject({ user: 'alice@example.com', detail: { method: 'oidc', issuer: idp.issuer } })
  })

  it('applies policy to the provider groups', async () => {
    const accessToken = (await oidcLogin(srv.url, idp, 'u-1002')).tokens!.access_token
    const me = await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })).json()
    expect(me).toMatchObject({ email: 'dave@example.com', groups: ['ops', 'dba'] })
    const signed = await fetch(`${srv.url}/v1/ssh/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair().publicKey), hostname: 'vm.example.com' }),
    })
    expect(signed.status).toBe(403)
  })

  it('refuses an account whose email the provider has not verified', async () => {
    const { response } = await oidcLogin(srv.url, idp, 'u-1003')
    expect(response.status).toBe(401)
    expect(await response.text()).toContain('the identity provider does not say that eve@example.com is verified')
  })

  it('refuses a callback with a forged state, and one nobody started', async () => {
    const browser = new TestBrowser()
    const started = await browser.request(`${srv.url}/login?return_to=%2Fdevice`)
    expect(started.status).toBe(302)
    expect(started.headers.get('location')!.startsWith(`${idp.issuer}/`)).toBe(true)
    const forged = await browser.request(`${srv.url}/oidc/callback?code=abc&state=forged&iss=${encodeURIComponent(idp.issuer)}`)
    expect(forged.status).toBe(401)
    expect(forged.headers.getSetCookie().join()).not.toMatch(/jitssh_session=[^;]/)
    const replay = await browser.request(`${srv.url}/oidc/callback?code=abc&state=forged`)
    expect(replay.status).toBe(400)
    expect(await new TestBrowser().request(`${srv.url}/oidc/callback?code=abc&state=x`).then((r) => r.status)).toBe(400)
  })
})

describe('local accounts beside the identity provider', () => {
  let both: TestServer
  beforeAll(async () => {
    both = await startTestServer({
      oidc: { issuer: idp.issuer, client_id: 'jitssh-both', client_secret: 'test-secret', scopes: ['openid', 'email', 'profile', 'groups'], allow_insecure_issuer: true },
      localBesideOidc: true,
      policy: [{ name: 'dev', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'] }],
    })
    await idp.registerClient({ client_id: 'jitssh-both', client_secret: 'test-secret', redirect_uris: [`${both.url}/oidc/callback`] })
  })
  afterAll(async () => both?.stop())
  mkdirSync(join(REPO_ROOT, 'test-results', 'screenshots'), { recursive: true })

  it('offers both on the login page; a local break-glass account and a provider account each get a session', async () => {
    const page = await new TestBrowser().request(`${both.url}/login?return_to=%2Fdevice`)
    const html = await page.text()
    expect(page.status).toBe(200)
    expect(html).toContain(`<a class="sso" href="/login/sso?return_to=%2Fdevice">Sign in with ${new URL(idp.issuer).host}</a>`)
    expect(html).toContain('<form method="post" action="/login">')

    const local = await loginWithPassword(both.url, 'alice')
    const localMe = await (await fetch(`${both.url}/v1/me`, { headers: { authorization: `Bearer ${local.access_token}` } })).json()
    expect(localMe).toMatchObject({ sub: 'alice', email: 'alice@example.com' })

    // The CLI's authorize lands on the page; the person picks the provider.
    idp.signInAs('u-1002')
    const browser = new TestBrowser()
    const { verifier, challenge } = pkcePair()
    const redirectUri = 'http://127.0.0.1:40123/callback'
    const authorize = `/authorize?${new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state: 's' })}`
    const landed = await browser.follow(`${both.url}${authorize}`)
    expect(new URL(landed.url).pathname).toBe('/login')
    const viaSso = await browser.follow(`${both.url}/login/sso?return_to=${encodeURIComponent(authorize)}`, [new URL(both.url).origin, idp.issuer])
    const code = new URL(viaSso.response.headers.get('location')!).searchParams.get('code')!
    const tokens = (await (await fetch(`${both.url}/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: CLIENT_ID }),
    })).json()) as { access_token: string }
    const ssoMe = await (await fetch(`${both.url}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()
    expect(ssoMe).toMatchObject({ sub: `oidc:${idp.issuer}#u-1002`, email: 'dave@example.com' })
  })

  it('in Chromium: the page shows the provider first, and its link signs in through it', async () => {
    const browser = await launchChromium()
    try {
      idp.signInAs('u-1002')
      const page = await (await browser.newContext()).newPage()
      await page.goto(`${both.url}/login?return_to=%2Fdevice`)
      await page.screenshot({ path: join(REPO_ROOT, 'test-results', 'screenshots', 'login-local-and-sso.png') })
      await Promise.all([page.waitForURL(`${both.url}/device`), page.click('a.sso')])
      expect(await page.locator('body').innerText()).toContain('Signed in as dave@example.com')
    } finally {
      await browser.close()
    }
  })
})
