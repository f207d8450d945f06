// The authorization code + PKCE flow of jitssh-server for the public client jitssh-cli, against the real
// server on 127.0.0.1:0: the login page, /authorize, /token (code and refresh grants) and /revoke.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, type DiscoveryDocument, type TokenResponse } from '../../src/shared/protocol.js'
import {
  TEST_PASSWORD, TestBrowser, authorizeInBrowser, csrfTokenOf, loginWithPassword, pkcePair, startTestServer, submitLogin, testClock,
  type TestServer,
} from '../helpers/server.js'

const clock = testClock()
let srv: TestServer

beforeAll(async () => {
  srv = await startTestServer({ now: clock.now, config: { rate_limits: { login_failures_per_user: 3 } } })
})
afterAll(async () => {
  await srv?.stop()
})

async function token(params: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT_ID, ...params }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function sessionOf(accessToken: string): Promise<number> {
  return (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status
}

function authorizeUrl(overrides: Record<string, string | undefined> = {}): string {
  const params: Record<string, string | undefined> = {
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://127.0.0.1:5000/callback',
    code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 'st', ...overrides,
  }
  const query = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined))
  return `${srv.url}/authorize?${query}`
}

describe('discovery', () => {
  it('serves RFC 8414 metadata and the CA keys at both well-known paths', async () => {
    const jitssh = (await (await fetch(`${srv.url}/.well-known/jitssh`)).json()) as DiscoveryDocument
    const oauth = (await (await fetch(`${srv.url}/.well-known/oauth-authorization-server`)).json()) as DiscoveryDocument
    expect(oauth).toEqual(jitssh)
    expect(jitssh.issuer).toBe(srv.url)
    expect(jitssh.code_challenge_methods_supported).toEqual(['S256'])
    expect(jitssh.jitssh.user_ca_public_key).toMatch(/^ssh-ed25519 AAAA\S+ jitssh-user-ca$/)
    expect(jitssh.jitssh.host_ca_public_key).toMatch(/^ssh-ed25519 /)
    const jwks = (await (await fetch(jitssh.jwks_uri)).json()) as { keys: Array<Record<string, string>> }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    expect(jwks.keys[0]!.d).toBeUndefined()
  })

  it('answers /healthz and sends security headers', async () => {
    const response = await fetch(`${srv.url}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ status: 'ok' })
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'")
  })
})

describe('authorize', () => {
  it('sends a signed-out browser to the login page, then straight back to the loopback redirect with code, state and iss', async () => {
    const browser = new TestBrowser()
    const first = await browser.request(authorizeUrl())
    expect(first.status).toBe(302)
    const loginPage = new URL(first.headers.get('location')!, srv.url)
    expect(loginPage.pathname).toBe('/login')
    const page = await browser.request(loginPage.href)
    const html = await page.text()
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; frame-ancestors 'none'; base-uri 'none'$/)
    for (const field of ['name="username"', 'name="password"', 'name="csrf_token"', 'name="return_to"', 'type="submit"', 'action="/login"']) expect(html).toContain(field)
    const posted = await submitLogin(browser, loginPage.href, 'alice', TEST_PASSWORD)
    expect(posted.status).toBe(303)
    expect(posted.headers.getSetCookie().join('\n')).toMatch(/jitssh_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax/)
    const back = await browser.request(new URL(posted.headers.get('location')!, srv.url).href)
    expect(back.status).toBe(302)
    const target = new URL(back.headers.get('location')!)
    expect(target.origin + target.pathname).toBe('http://127.0.0.1:5000/callback')
    expect(target.searchParams.get('state')).toBe('st')
    expect(target.searchParams.get('iss')).toBe(srv.url)
    expect(target.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it.each([
    ['an unknown client', { client_id: 'evil' }, /client_id/],
    ['a non-loopback redirect', { redirect_uri: 'https://evil.example.com/callback' }, /redirect_uri/],
    ['localhost instead of an IP', { redirect_uri: 'http://localhost:5000/callback' }, /redirect_uri/],
    ['another path', { redirect_uri: 'http://127.0.0.1:5000/other' }, /redirect_uri/],
    ['a query on the redirect', { redirect_uri: 'http://127.0.0.1:5000/callback?x=1' }, /redirect_uri/],
    ['user info in the redirect', { redirect_uri: 'http://evil@127.0.0.1:5000/callback' }, /redirect_uri/],
    ['https on loopback', { redirect_uri: 'https://127.0.0.1:5000/callback' }, /redirect_uri/],
    ['no port', { redirect_uri: 'http://127.0.0.1/callback' }, /redirect_uri/],
    ['a port out of range', { redirect_uri: 'http://127.0.0.1:70000/callback' }, /redirect_uri/],
  ])('refuses %s with a 400 JSON error and no redirect', async (_name, overrides, message) => {
    const response = await fetch(authorizeUrl(overrides), { redirect: 'manual' })
    expect(response.status).toBe(400)
    expect(response.headers.get('location')).toBeNull()
    const body = (await response.json()) as { error: string; error_description: string }
    expect(body.error).toBe('invalid_request')
    expect(body.error_description).toMatch(message)
  })

  it('accepts the IPv6 loopback redirect', async () => {
    const browser = new TestBrowser()
    const { redirectUri } = await authorizeInBrowser(browser, srv.url, 'alice', TEST_PASSWORD, 'http://[::1]:6000/callback')
    expect(redirectUri).toBe('http://[::1]:6000/callback')
  })

  it.each([
    ['no PKCE', { code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    ['PKCE plain', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['a malformed challenge', { code_challenge: 'short' }, 'invalid_request'],
    ['response_type token', { response_type: 'token' }, 'unsupported_response_type'],
  ])('redirects back with an error for %s', async (_name, overrides, error) => {
    const response = await fetch(authorizeUrl(overrides), { redirect: 'manual' })
    expect(response.status).toBe(302)
    const target = new URL(response.headers.get('location')!)
    expect(target.searchParams.get('error')).toBe(error)
    expect(target.searchParams.get('state')).toBe('st')
    expect(target.searchParams.get('code')).toBeNull()
  })
})

describe('login page', () => {
  it('rejects a POST without the CSRF cookie and token', async () => {
    const response = await fetch(`${srv.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'alice', password: TEST_PASSWORD, csrf_token: 'x'.repeat(43), return_to: '/device' }),
      redirect: 'manual',
    })
    expect(response.status).toBe(403)
    expect(response.headers.getSetCookie().join()).not.toMatch(/jitssh_session=[^;]/)
  })

  it('says "wrong username or password" alike for a wrong password and an unknown user, and escapes what it echoes', async () => {
    const browser = new TestBrowser()
    const wrong = await submitLogin(browser, `${srv.url}/login`, 'alice', 'nope')
    expect(wrong.status).toBe(401)
    expect(await wrong.text()).toContain('Wrong username or password.')
    const unknown = await submitLogin(browser, `${srv.url}/login`, '<script>x</script>', 'nope')
    const html = await unknown.text()
    expect(unknown.status).toBe(401)
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;')
    expect(html).not.toContain('<script>')
  })

  it('never redirects to another site after login', async () => {
    const browser = new TestBrowser()
    const page = await browser.request(`${srv.url}/login?return_to=${encodeURIComponent('//evil.example.com/x')}`)
    const html = await page.text()
    expect(html).toContain('name="return_to" value="/device"')
    const posted = await browser.request(`${srv.url}/login`, {
      form: { username: 'alice', password: TEST_PASSWORD, csrf_token: csrfTokenOf(html), return_to: 'https://evil.example.com/' },
    })
    expect(posted.status).toBe(303)
    expect(posted.headers.get('location')).toBe('/device')
  })

  it('locks a username out after repeated failures, even with the right password', async () => {
    const browser = new TestBrowser()
    for (let i = 0; i < 3; i++) expect((await submitLogin(browser, `${srv.url}/login`, 'bob', 'wrong')).status).toBe(401)
    const locked = await submitLogin(browser, `${srv.url}/login`, 'bob', TEST_PASSWORD)
    expect(locked.status).toBe(429)
    expect(await locked.text()).toContain('too many failed sign-ins for this user')
    clock.advance(16 * 60_000)
    expect((await submitLogin(browser, `${srv.url}/login`, 'bob', TEST_PASSWORD)).status).toBe(303)
  })
})

describe('token endpoint: authorization_code', () => {
  it('issues an EdDSA access token with the session id and a refresh token', async () => {
    const tokens = await loginWithPassword(srv.url)
    expect(tokens.token_type).toBe('Bearer')
    expect(tokens.expires_in).toBe(600)
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const [header, payload] = tokens.access_token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' })
    expect(payload).toMatchObject({ iss: srv.url, aud: srv.url, sub: 'alice', email: 'alice@example.com', groups: ['dev'], sid: tokens.session_id })
    expect(payload.exp - payload.iat).toBe(600)
    expect(new Date(tokens.session_expires_at).getTime() - clock.now()).toBe(12 * 3_600_000)
    // Only hashes are stored.
    const db = (srv.server.store as unknown as { db: import('better-sqlite3').Database }).db
    const stored = db.prepare('SELECT token_hash FROM refresh_tokens').pluck().all() as string[]
    expect(stored).not.toContain(tokens.refresh_token)
    expect(stored.every((hash) => /^[0-9a-f]{64}$/.test(hash))).toBe(true)
  })

  async function freshCode(): Promise<{ code: string; redirectUri: string; verifier: string }> {
    return authorizeInBrowser(new TestBrowser(), srv.url)
  }

  it('requires the code verifier', async () => {
    const { code, redirectUri } = await freshCode()
    const result = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri })
    expect(result.status).toBe(400)
    expect(result.body).toEqual({ error: 'invalid_request', error_description: 'code_verifier is required (PKCE)' })
  })

  it('rejects a wrong verifier, and the code is then spent', async () => {
    const { code, redirectUri, verifier } = await freshCode()
    const wrong = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: pkcePair().verifier })
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/PKCE/) } })
    const right = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier })
    expect(right).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
  })

  it('rejects an altered redirect_uri', async () => {
    const { code, verifier } = await freshCode()
    const result = await token({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:5001/callback', code_verifier: verifier })
    expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/redirect_uri/) } })
  })

  it('rejects another client', async () => {
    const { code, redirectUri, verifier } = await freshCode()
    const result = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: 'other' })
    expect(result).toMatchObject({ status: 401, body: { error: 'invalid_client' } })
  })

  it('rejects an expired code (60 s)', async () => {
    const { code, redirectUri, verifier } = await freshCode()
    clock.advance(61_000)
    const result = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier })
    expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'authorization code has expired' } })
  })

  it('treats a reused code as an attack: refused, and the session it created is revoked', async () => {
    const { code, redirectUri, verifier } = await freshCode()
    const params = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }
    const first = await token(params)
    expect(first.status).toBe(200)
    const accessToken = (first.body as unknown as TokenResponse).access_token
    expect(await sessionOf(accessToken)).toBe(200)
    const second = await token(params)
    expect(second).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'authorization code was already used' } })
    expect(await sessionOf(accessToken)).toBe(401)
  })

  it('rejects unknown codes, unknown grant types, JSON bodies and repeated parameters', async () => {
    expect(await token({ grant_type: 'authorization_code', code: 'nope', redirect_uri: 'http://127.0.0.1:1/callback', code_verifier: pkcePair().verifier }))
      .toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    expect(await token({ grant_type: 'password' })).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } })
    const json = await fetch(`${srv.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'refresh_token' }) })
    expect(json.status).toBe(400)
    expect(await json.json()).toMatchObject({ error: 'invalid_request' })
    const repeated = await fetch(`${srv.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=${CLIENT_ID}&grant_type=refresh_token&refresh_token=a&refresh_token=b`,
    })
    expect(repeated.status).toBe(400)
    expect(await repeated.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/more than once/) })
  })

  it('refuses an oversized body with 413', async () => {
    const response = await fetch(`${srv.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${'a'.repeat(20_000)}`,
    })
    expect(response.status).toBe(413)
    expect(await response.json()).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/larger than/) })
  })
})

describe('token endpoint: refresh_token', () => {
  it('rotates on every use; reusing an old one revokes the whole session', async () => {
    const first = await loginWithPassword(srv.url)
    const second = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token })
    expect(second.status).toBe(200)
    const rotated = second.body as unknown as TokenResponse
    expect(rotated.refresh_token).not.toBe(first.refresh_token)
    expect(rotated.session_expires_at).toBe(first.session_expires_at)
    const third = await token({ grant_type: 'refresh_token', refresh_token: rotated.refresh_token })
    expect(third.status).toBe(200)
    const latest = third.body as unknown as TokenResponse

    const replay = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token })
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringMatching(/already used.*revoked/) } })
    // The legitimate holder's newest tokens die with the session.
    expect(await sessionOf(latest.access_token)).toBe(401)
    expect(await token({ grant_type: 'refresh_token', refresh_token: latest.refresh_token })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    const events = await srv.server.store.audit.read(0, 10_000)
    expect(events.some((event) => event.type === 'token.refresh_reuse' && event.sessionId === first.session_id)).toBe(true)
    expect(events.some((event) => event.type === 'session.revoke' && event.sessionId === first.session_id)).toBe(true)
  })

  it('stops at the absolute end of the session', async () => {
    const tokens = await loginWithPassword(srv.url)
    clock.advance(12 * 3_600_000 + 1000)
    const result = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })
    expect(result).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'session has ended' } })
  })

  it('rejects an unknown refresh token', async () => {
    expect(await token({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
  })
})

describe('revocation (RFC 7009)', () => {
  it('revoking the refresh token ends the session: refresh and API calls fail', async () => {
    const tokens = await loginWithPassword(srv.url)
    const response = await fetch(`${srv.url}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: CLIENT_ID }),
    })
    expect(response.status).toBe(200)
    expect(await sessionOf(tokens.access_token)).toBe(401)
    const me = await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(await me.json()).toEqual({ error: 'ERR_SESSION_REVOKED', message: 'session has been revoked', hint: 'run: jitssh login' })
    expect(await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
  })

  it('answers 200 for an unknown token and 400 without one', async () => {
    const post = (body: Record<string, string>): Promise<Response> =>
      fetch(`${srv.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) })
    expect((await post({ token: 'whatever' })).status).toBe(200)
    const missing = await post({})
    expect(missing.status).toBe(400)
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' })
  })
})
