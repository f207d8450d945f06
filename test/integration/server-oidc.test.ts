// jitssh-server with an upstream OpenID provider (a real oidc-provider in the test): discovery, code + PKCE
// + nonce through the provider, ID-token checks, the email and groups claims in the session, and refusals
// (unverified email, forged state, a callback nobody started).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID } from '../../src/shared/protocol.js'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { startOidcProvider, type RunningOidcProvider } from '../helpers/oidc-provider.js'
import { TestBrowser, pkcePair, startTestServer, type TestServer } from '../helpers/server.js'

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

/** Runs /authorize through the upstream provider; returns the last response before leaving our two origins. */
async function authorizeVia(account: string): Promise<{ browser: TestBrowser; response: Response; verifier: string; redirectUri: string }> {
  idp.signInAs(account)
  const browser = new TestBrowser()
  const { verifier, challenge } = pkcePair()
  const redirectUri = 'http://127.0.0.1:40123/callback'
  const query = new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state: 's1' })
  const { response } = await browser.follow(`${srv.url}/authorize?${query}`, [new URL(srv.url).origin, idp.issuer])
  return { browser, response, verifier, redirectUri }
}

async function exchange(location: string, verifier: string, redirectUri: string): Promise<string> {
  const code = new URL(location).searchParams.get('code')!
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: CLIENT_ID }),
  })
  expect(response.status).toBe(200)
  return ((await response.json()) as { access_token: string }).access_token
}

describe('oidc identity', () => {
  it('signs in through the provider and carries email, groups and username into the session', async () => {
    const { response, verifier, redirectUri } = await authorizeVia('u-1001')
    expect(response.status).toBe(302)
    const location = response.headers.get('location')!
    expect(location.startsWith(redirectUri)).toBe(true)
    const accessToken = await exchange(location, verifier, redirectUri)
    const me = await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })).json()
    expect(me).toMatchObject({ sub: 'u-1001', email: 'alice@example.com', name: 'Alice A.', groups: ['dev'] })
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
    const { response, verifier, redirectUri } = await authorizeVia('u-1002')
    const accessToken = await exchange(response.headers.get('location')!, verifier, redirectUri)
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
    const { response } = await authorizeVia('u-1003')
    expect(response.status).toBe(401)
    expect(await response.text()).toContain('eve@example.com is not verified')
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
