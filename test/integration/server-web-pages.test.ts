// The server's web pages and the terminal's WebSocket door, without a browser: who may see which page, the
// CSRF and Origin checks, the one-time tickets, and each page's CSP. (The pages driven by Chromium against a
// real sshd: test/e2e/browser-terminal.test.ts.)
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { sha256Hex } from '../../src/server/oauth/secrets.js'
import { csrfTokenOf, loginWithPassword, startTestServer, TestBrowser, type TestServer } from '../helpers/server.js'
import { connectTerminal, openTerminalPage, signedInBrowser } from '../helpers/terminal.js'

let srv: TestServer

beforeAll(async () => {
  srv = await startTestServer({
    users: [
      { username: 'alice', email: 'alice@example.com', groups: ['dev'] },
      { username: 'bob', email: 'bob@example.com', groups: ['ops'] },
      { username: 'carol', email: 'carol@example.com', groups: ['security'] },
    ],
    // A target nothing listens on: the terminal's ssh fails to connect, and these tests need no sshd.
    targets: { 'vm.example.com': '127.0.0.1:1', 'other.example.com': '127.0.0.1:1' },
    policy: [{ name: 'dev', groups: ['dev'], hosts: ['vm.example.com'], principals: ['{email_local}', 'deploy'], max_ttl: '1h' }],
    config: { admins: { groups: ['ops'] }, auditors: { groups: ['security'] } },
  })
})
afterAll(async () => srv?.stop())

const url = (): string => srv.url

describe('who sees which page', () => {
  it('signed out: / explains how to start; the other pages send to sign-in and come back', async () => {
    const browser = new TestBrowser()
    const home = await browser.request(`${url()}/`)
    expect(home.status).toBe(200)
    expect(await home.text()).toContain(`jitssh login --server ${url()}`)
    for (const path of ['/admin', '/admin/audit?user=alice', '/recordings']) {
      const page = await browser.request(`${url()}${path}`)
      expect(page.status, path).toBe(303)
      expect(page.headers.get('location')).toBe(`/login?return_to=${encodeURIComponent(path)}`)
    }
    const login = await (await browser.request(`${url()}/login?return_to=${encodeURIComponent('/admin/audit?user=alice')}`)).text()
    expect(login).toContain('name="return_to" value="/admin/audit?user=alice"')
  })

  it('alice sees her hosts with their logins, not the admin or recordings pages (refusals audited)', async () => {
    const browser = await signedInBrowser(url(), 'alice')
    const home = await (await browser.request(`${url()}/`)).text()
    expect(home).toContain('<code>vm.example.com</code>')
    expect(home).toContain('<option>alice</option><option>deploy</option>')
    expect(home).not.toContain('other.example.com')
    for (const path of ['/admin', '/recordings']) expect((await browser.request(`${url()}${path}`)).status, path).toBe(403)
    const denied = await srv.server.store.admin.searchAudit({ user: 'alice@example.com', types: ['access.denied'], order: 'desc', limit: 2 })
    expect(denied.map((event) => event.detail.path)).toEqual(['/recordings', '/admin'])
  })

  it('carol (auditor) sees recordings, not the admin pages; bob (admin) sees both; the API says the same', async () => {
    const carol = await signedInBrowser(url(), 'carol')
    expect((await carol.request(`${url()}/recordings`)).status).toBe(200)
    expect((await carol.request(`${url()}/admin`)).status).toBe(403)
    const bob = await signedInBrowser(url(), 'bob')
    for (const path of ['/admin', '/admin/audit', '/recordings']) expect((await bob.request(`${url()}${path}`)).status, path).toBe(200)

    const api = async (user: string) => (await fetch(`${url()}/v1/admin/recordings`, { headers: { authorization: `Bearer ${(await loginWithPassword(url(), user)).access_token}` } })).status
    expect(await api('alice')).toBe(403)
    expect(await api('carol')).toBe(200)
    expect(await api('bob')).toBe(200)
    const missing = await fetch(`${url()}/v1/admin/recordings/no-such-recording/cast`, { headers: { authorization: `Bearer ${(await loginWithPassword(url(), 'carol')).access_token}` } })
    expect(missing.status).toBe(404)
  })

  it('the admin page revokes only with its CSRF token', async () => {
    const bob = await signedInBrowser(url(), 'bob')
    const session = (await loginWithPassword(url(), 'alice')).session_id
    expect((await bob.request(`${url()}/admin/revoke`, { form: { session_id: session } })).status).toBe(403)
    expect((await bob.request(`${url()}/admin/revoke`, { form: { session_id: session, csrf_token: 'x'.repeat(43) } })).status).toBe(403)
    expect((await srv.server.store.sessions.get(session))?.revokedAt).toBeNull()
    const page = await (await bob.request(`${url()}/admin`)).text()
    expect(page).toContain(session)
    const revoked = await bob.request(`${url()}/admin/revoke`, { form: { session_id: session, csrf_token: csrfTokenOf(page) } })
    expect(revoked.status).toBe(303)
    expect((await srv.server.store.sessions.get(session))?.revokedReason).toBe('by an admin')
  })
})

describe('the terminal page and its WebSocket door', () => {
  it('the terminal page: a CSP with scripts from our origin only, no unsafe-inline, and connections to our ws origin only', async () => {
    const browser = await signedInBrowser(url(), 'alice')
    const home = await (await browser.request(`${url()}/`)).text()
    const response = await browser.request(`${url()}/terminal`, { form: { csrf_token: csrfTokenOf(home), host: 'vm.example.com', login: 'deploy' } })
    expect(response.status).toBe(200)
    const csp = response.headers.get('content-security-policy')!
    const origin = new URL(url())
    expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/)
    expect(csp).toContain(`connect-src ws://${origin.host};`)
    expect(csp).not.toContain('unsafe')
    const html = await response.text()
    const nonce = /nonce="([^"]+)"/.exec(html)![1]!
    expect(csp).toContain(`style-src 'self' 'nonce-${nonce}'`)
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/) // scripts only by src
    expect(html).toContain('data-login="deploy"')
    const script = /<script type="module" src="(\/assets\/[^"]+)"/.exec(html)![1]!
    const asset = await browser.request(`${url()}${script}`)
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(asset.headers.get('cache-control')).toContain('immutable')
    for (const path of ['/assets/manifest.json', '/assets/..%2Fcli%2Fentry.js', '/assets/nope.js']) expect((await browser.request(`${url()}${path}`)).status, path).toBe(404)
  })

  it('the Terminal button needs the CSRF token and a login the policy grants', async () => {
    const browser = await signedInBrowser(url(), 'alice')
    const home = await (await browser.request(`${url()}/`)).text()
    expect((await browser.request(`${url()}/terminal`, { form: { host: 'vm.example.com' } })).status).toBe(403)
    const wrongLogin = await browser.request(`${url()}/terminal`, { form: { csrf_token: csrfTokenOf(home), host: 'vm.example.com', login: 'root' } })
    expect(wrongLogin.status).toBe(403)
    expect(await wrongLogin.text()).toContain('the policy does not grant the login &quot;root&quot; on this host')
    const otherSite = await browser.request(`${url()}/terminal`, { form: { csrf_token: csrfTokenOf(home), host: 'vm.example.com' }, headers: { origin: 'http://evil.example' } })
    expect(otherSite.status).toBe(403)
  })

  it('a ticket opens one WebSocket, only for the browser session it was made for, with our Origin and the cookie', async () => {
    const alice = await signedInBrowser(url(), 'alice')
    const page = await openTerminalPage(alice, url(), 'vm.example.com')
    expect(page.ticket).toBeDefined()
    const spawned = srv.server.context.terminals.spawned

    const mallory = await signedInBrowser(url(), 'alice') // the same person, another browser session
    expect(await connectTerminal(mallory, page, { origin: url() })).toMatchObject({ status: 403 })
    // That attempt used the ticket up (a ticket is taken before it is checked): a fresh one for the rest.
    const fresh = await openTerminalPage(alice, url(), 'vm.example.com')
    expect(await connectTerminal(alice, fresh, { origin: 'http://127.0.0.1:1' })).toMatchObject({ status: 403 })
    const noCookie = new WebSocket(`${fresh.wsUrl}?ticket=${fresh.ticket}`, { headers: { origin: url() } })
    noCookie.on('error', () => undefined)
    const [, refused] = (await once(noCookie, 'unexpected-response')) as [unknown, { statusCode: number }]
    expect(refused.statusCode).toBe(401)
    expect(srv.server.context.terminals.spawned).toBe(spawned)

    const client = await connectTerminal(alice, fresh, { origin: url() })
    if (!('ws' in client)) throw new Error(`refused: ${JSON.stringify(client)}`)
    expect(srv.server.context.terminals.spawned).toBe(spawned + 1) // nothing listens at the target: ssh says so and ends
    const { code } = await client.closed
    expect(code).toBe(1000)
    expect(await connectTerminal(alice, fresh, { origin: url() })).toMatchObject({ status: 403 }) // used
    expect(await srv.server.store.sessions.takeTerminalTicket(sha256Hex(fresh.ticket!), Date.now())).toBeUndefined()
  })
})
