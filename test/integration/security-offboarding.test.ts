// Offboarding ends access (issue 11): revoking or disabling a person ends their browser session too, so
// /authorize cannot turn a leftover cookie into a new CLI session; the browser can sign out; `jitssh logout`
// (the revocation endpoint) ends the browser session that approved the login; and every refresh, signature,
// tunnel and admin call re-resolves the person against the configuration that is running now: someone
// removed from config.yaml, or from admins, or moved to other groups, gets exactly what the new config says.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID } from '../../src/shared/protocol.js'
import { adminCall, refreshWith, signFor } from '../helpers/admin.js'
import { authorizeInBrowser, csrfTokenOf, DEFAULT_USERS, loginWithPassword, pkcePair, startTestServer, TEST_PASSWORD, TestBrowser, type TestServer } from '../helpers/server.js'

const USERS = [...DEFAULT_USERS, { username: 'carol', email: 'carol@example.com', groups: ['dev'] }]
const POLICY = [
  { name: 'dev', groups: ['dev'], hosts: ['*.dev.example.com'], principals: ['{email_local}'] },
  { name: 'ops', groups: ['ops'], hosts: ['*.ops.example.com'], principals: ['{email_local}'] },
]
const ADMINS = { admins: { users: ['bob'] } }

let srv: TestServer
beforeAll(async () => {
  srv = await startTestServer({ users: USERS, policy: POLICY, config: ADMINS })
})
afterAll(async () => srv?.stop())

const AUTHORIZE_PARAMS = { response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://127.0.0.1:49152/callback', code_challenge_method: 'S256', state: 'again' }

/**
 * Starts /authorize in `browser`; returns where it ends: a loopback redirect with a code, the login page, or
 * a page (`page`: its HTML, e.g. the confirmation).
 */
async function authorizeAgain(browser: TestBrowser): Promise<{ code: string | null; landedOn: string; status: number; page: string }> {
  const { challenge } = pkcePair()
  const query = new URLSearchParams({ ...AUTHORIZE_PARAMS, code_challenge: challenge })
  const step = await browser.follow(`${srv.url}/authorize?${query}`)
  const location = step.response.headers.get('location')
  const code = location ? new URL(location).searchParams.get('code') : null
  return { code, landedOn: new URL(step.url).pathname, status: step.response.status, page: await step.response.text() }
}

/** A person who signed in in the browser and exchanged the code: their browser (with its cookie) and CLI tokens. */
async function signedIn(user: string): Promise<{ browser: TestBrowser; tokens: { access_token: string; refresh_token: string; session_id: string } }> {
  const browser = new TestBrowser()
  const { code, redirectUri, verifier } = await authorizeInBrowser(browser, srv.url, user)
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: CLIENT_ID }),
  })
  expect(response.status).toBe(200)
  const tokens = (await response.json()) as { access_token: string; refresh_token: string }
  const sid = (JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid
  return { browser, tokens: { ...tokens, session_id: sid } }
}

describe('revoking or disabling a person ends their browser session too', () => {
  it('after `revoke --user`, the old cookie no longer yields an authorization code', async () => {
    const carol = await signedIn('carol')
    const bob = await loginWithPassword(srv.url, 'bob')
    expect((await adminCall(srv.url, bob.access_token, 'revoke', { user: 'carol@example.com' })).status).toBe(200)
    const again = await authorizeAgain(carol.browser)
    expect(again.code).toBeNull()
    expect(again.landedOn).toBe('/login')
  })

  it('after `user disable`, the old cookie no longer yields an authorization code, nor approves a device', async () => {
    const carol = await signedIn('carol')
    const bob = await loginWithPassword(srv.url, 'bob')
    expect((await adminCall(srv.url, bob.access_token, 'users/disable', { user: 'carol' })).status).toBe(200)
    try {
      expect((await authorizeAgain(carol.browser)).code).toBeNull()
      const device = await carol.browser.follow(`${srv.url}/device`)
      expect(new URL(device.url).pathname).toBe('/login')
    } finally {
      await adminCall(srv.url, bob.access_token, 'users/enable', { user: 'carol' })
    }
  })
})

describe('signing out', () => {
  it('POST /logout (with the form token) ends the browser session; /authorize asks for the password again', async () => {
    const carol = await signedIn('carol')
    const page = await carol.browser.request(`${srv.url}/logout`)
    expect(page.status).toBe(200)
    const forged = await carol.browser.request(`${srv.url}/logout`, { form: { csrf_token: 'x'.repeat(43) } })
    expect(forged.status).toBe(403)
    expect((await authorizeAgain(carol.browser)).landedOn).toBe('/authorize') // a forged form changed nothing: still signed in
    const out = await carol.browser.request(`${srv.url}/logout`, { form: { csrf_token: csrfTokenOf(await page.text()) } })
    expect(out.status).toBe(200)
    expect((await authorizeAgain(carol.browser)).landedOn).toBe('/login')
  })

  it('`jitssh logout` (RFC 7009 revocation of the refresh token) ends the browser session that approved the login', async () => {
    const carol = await signedIn('carol')
    const revoked = await fetch(`${srv.url}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: carol.tokens.refresh_token, client_id: CLIENT_ID }),
    })
    expect(revoked.status).toBe(200)
    expect((await authorizeAgain(carol.browser)).landedOn).toBe('/login')
  })
})

describe('a signed-in browser does not hand a code to any loopback port without asking (RFC 8252 §8.6)', () => {
  it('shows who asks and for what; Allow (with the form token) gives the code, Deny gives access_denied, a forged form nothing', async () => {
    const carol = await signedIn('carol')
    const asked = await authorizeAgain(carol.browser)
    expect(asked.code).toBeNull()
    expect([asked.landedOn, asked.status]).toEqual(['/authorize', 200])
    expect(asked.page).toContain('Sign in to jitssh on this computer?')
    expect(asked.page).toContain('carol@example.com')
    expect(asked.page).toContain('127.0.0.1:49152')
    const fields = Object.fromEntries([...asked.page.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)].map((match) => [match[1]!, match[2]!.replace(/&amp;/g, '&')]))
    expect(fields).toMatchObject({ ...AUTHORIZE_PARAMS })

    const forged = await carol.browser.request(`${srv.url}/authorize`, { form: { ...fields, csrf_token: 'y'.repeat(43), action: 'allow' } })
    expect(forged.status).toBe(403)
    const denied = await carol.browser.request(`${srv.url}/authorize`, { form: { ...fields, action: 'deny' } })
    expect(new URL(denied.headers.get('location')!).searchParams.get('error')).toBe('access_denied')
    const allowed = await carol.browser.request(`${srv.url}/authorize`, { form: { ...fields, action: 'allow' } })
    expect(allowed.status).toBe(302)
    const back = new URL(allowed.headers.get('location')!)
    expect(back.origin + back.pathname).toBe('http://127.0.0.1:49152/callback')
    expect(back.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(back.searchParams.get('state')).toBe('again')
  })

  it('asks nothing right after the person signed in for this very request (and only once)', async () => {
    const browser = new TestBrowser()
    const first = await authorizeInBrowser(browser, srv.url, 'carol')
    expect(first.code).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await authorizeAgain(browser)).landedOn).toBe('/authorize') // the next request asks again
  })
})

describe('every refresh, signature and admin call sees the configuration running now', () => {
  afterEach(async () => srv.restart({ users: USERS, policy: POLICY, config: ADMINS }))

  it('a person removed from config.yaml can no longer refresh, sign, read /v1/me or use their browser session', async () => {
    const carol = await signedIn('carol')
    expect((await signFor(srv.url, carol.tokens.access_token, 'vm.dev.example.com')).status).toBe(200)
    await srv.restart({ users: USERS.filter((user) => user.username !== 'carol') })
    const sign = await signFor(srv.url, carol.tokens.access_token, 'vm.dev.example.com')
    expect(sign.status).toBe(401)
    expect(sign.body.message).toMatch(/carol@example\.com is no longer a user of this server/)
    const me = await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${carol.tokens.access_token}` } })
    expect(me.status).toBe(401)
    const refresh = await refreshWith(srv.url, carol.tokens.refresh_token)
    expect(refresh.status).toBe(400)
    expect(refresh.body.error).toBe('invalid_grant')
    expect((await authorizeAgain(carol.browser)).landedOn).toBe('/login')
    // The session is revoked for good (its certificates go on the KRL), not just refused while she is missing.
    expect((await srv.server.store.sessions.get(carol.tokens.session_id))?.revokedAt).not.toBeNull()
  })

  it('a person moved to other groups gets what the new groups allow, on the same session', async () => {
    const carol = await signedIn('carol')
    expect((await signFor(srv.url, carol.tokens.access_token, 'vm.ops.example.com')).status).toBe(403)
    await srv.restart({ users: USERS.map((user) => (user.username === 'carol' ? { ...user, groups: ['ops'] } : user)) })
    expect((await signFor(srv.url, carol.tokens.access_token, 'vm.dev.example.com')).status).toBe(403)
    expect((await signFor(srv.url, carol.tokens.access_token, 'vm.ops.example.com')).status).toBe(200)
    const me = (await (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${carol.tokens.access_token}` } })).json()) as { groups: string[] }
    expect(me.groups).toEqual(['ops'])
  })

  it('an admin by group who leaves that group loses the admin API at once', async () => {
    await srv.restart({ config: { admins: { groups: ['ops'] } } })
    const bob = await loginWithPassword(srv.url, 'bob')
    expect((await adminCall(srv.url, bob.access_token, 'sessions')).status).toBe(200)
    await srv.restart({ users: USERS.map((user) => (user.username === 'bob' ? { ...user, groups: ['dev'] } : user)), config: { admins: { groups: ['ops'] } } })
    expect((await adminCall(srv.url, bob.access_token, 'sessions')).status).toBe(403)
  })

  it('a password changed in config.yaml does not end sessions, but the old password no longer signs in', async () => {
    const carol = await signedIn('carol')
    await srv.restart({ users: USERS.map((user) => (user.username === 'carol' ? { ...user, password: 'a brand new password' } : user)) })
    expect((await signFor(srv.url, carol.tokens.access_token, 'vm.dev.example.com')).status).toBe(200)
    await expect(loginWithPassword(srv.url, 'carol', TEST_PASSWORD)).rejects.toThrow(/login failed/)
  })
})
