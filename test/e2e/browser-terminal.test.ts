/**
 * The browser terminal, recording and playback, end to end with real parts only: jitssh-server, a real sshd
 * with a host certificate (test/helpers/stack.ts), headless Chromium on the real pages, the built CLI.
 *
 * alice (group dev) signs in, opens a terminal to vm.example.com, types `echo <nonce>` and resizes; the
 * stored recording and the audit agree; carol (an auditor) plays it back; bob (an admin) exports it with
 * the CLI and revokes alice from the admin page, which closes her open terminal within a second. A page of
 * another origin cannot open a terminal, and a host alice may not reach starts no ssh. Screenshots of each
 * page go to test-results/screenshots/.
 *
 * The steps share one stack and run in order.
 */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { parseAsciicast } from '../../src/shared/asciicast.js'
import type { LiveTunnel } from '../../src/server/bastion/tunnel-registry.js'
import { sha256Hex } from '../../src/server/oauth/secrets.js'
import { browserSessionId } from '../../src/server/sessions/browser-session-id.js'
import { cspViolations, launchChromium, screenshot } from '../helpers/chromium.js'
import { DEFAULT_USERS, listenOnLoopback, TEST_PASSWORD } from '../helpers/server.js'
import { DENIED_HOST, startStack, VM_HOST, type Stack, type StackHome } from '../helpers/stack.js'

let stack: Stack
let browser: Browser
let bobHome: StackHome
let evil: Server
const nonce = `nonce-${randomBytes(6).toString('hex')}`
/** The recording of the first terminal (found in step 3). */
let recordingId = ''

const url = (): string => stack.server.url
const context = () => stack.server.server.context
const store = () => stack.server.server.store
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

beforeAll(async () => {
  ;[stack, browser] = await Promise.all([
    startStack({
      users: [...DEFAULT_USERS, { username: 'carol', email: 'carol@example.com', groups: ['security'] }],
      serverConfig: { admins: { groups: ['ops'] }, auditors: { groups: ['security'] } },
    }),
    launchChromium(),
  ])
  bobHome = stack.addHome()
  evil = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>another site</title><p>another origin</p>'))
  await listenOnLoopback(evil as never)
}, 60_000)

afterAll(async () => {
  evil?.close()
  await Promise.allSettled([browser?.close(), stack?.stop()])
})

async function signIn(path: string, username: string): Promise<{ context: BrowserContext; page: Page }> {
  const browserContext = await browser.newContext({ viewport: { width: 1200, height: 800 } })
  const page = await browserContext.newPage()
  await page.goto(`${url()}/login?return_to=${encodeURIComponent(path)}`)
  await page.fill('input[name="username"]', username)
  await page.fill('input[name="password"]', TEST_PASSWORD)
  await Promise.all([page.waitForURL(`${url()}${path}`), page.click('form[action="/login"] button[type="submit"]')])
  return { context: browserContext, page }
}

/** The terminal's visible lines (xterm.js's DOM rows). */
async function screenLines(page: Page): Promise<string[]> {
  return (await page.locator('.xterm-rows').innerText()).split('\n').map((line) => line.trimEnd())
}

async function waitForLine(page: Page, wanted: RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const line = (await screenLines(page)).find((candidate) => wanted.test(candidate))
    if (line !== undefined) return line
    if (Date.now() > deadline) throw new Error(`the terminal shows no line matching ${wanted}:\n${(await screenLines(page)).join('\n')}`)
    await page.waitForTimeout(50)
  }
}

async function typeLine(page: Page, text: string): Promise<void> {
  await page.locator('.xterm').click()
  await page.keyboard.type(text)
  await page.keyboard.press('Enter')
}

function nextRemoval(kind: LiveTunnel['kind']): Promise<LiveTunnel> {
  return new Promise((resolve) => {
    const listener = (tunnel: LiveTunnel): void => {
      if (tunnel.kind !== kind) return
      context().tunnels.off('removed', listener)
      resolve(tunnel)
    }
    context().tunnels.on('removed', listener)
  })
}

/** Script for the page: open a WebSocket to `target`, resolve with `opened` or how it closed (then close it). */
function openSocketIn(target: string): string {
  return `new Promise((resolve) => {
    const ws = new WebSocket(${JSON.stringify(target)})
    ws.onopen = () => { resolve('opened'); ws.close() }
    ws.onclose = (event) => resolve('closed ' + event.code)
  })`
}

async function openTerminal(page: Page): Promise<void> {
  await page.goto(`${url()}/`)
  await Promise.all([page.waitForURL(`${url()}/terminal`), page.locator('tr', { hasText: VM_HOST }).getByRole('button', { name: 'Terminal' }).click()])
  await page.locator('#status', { hasText: `Connected to ${VM_HOST}` }).waitFor({ timeout: 20_000 }).catch(async (error: unknown) => {
    throw new Error(`the terminal did not connect; its status says: ${await page.locator('#status').innerText()}`, { cause: error })
  })
}

describe('the browser terminal, end to end', { timeout: 120_000 }, () => {
  let alice: { context: BrowserContext; page: Page }

  it('the home page: before sign-in how to start, after it the hosts alice may reach, each with a Terminal button', async () => {
    const visitor = await browser.newPage({ viewport: { width: 1200, height: 800 } })
    await visitor.goto(`${url()}/`)
    expect(await visitor.locator('pre').innerText()).toContain(`jitssh login --server ${url()}`)
    expect(await visitor.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/login?return_to=%2F')
    await screenshot(visitor, 'welcome')
    await visitor.close()

    alice = await signIn('/', 'alice')
    const { page } = alice
    expect(await page.locator('tr', { hasText: VM_HOST }).getByRole('button', { name: 'Terminal' }).count()).toBe(1)
    expect(await page.locator('tr', { hasText: DENIED_HOST }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Sign out' }).getAttribute('href')).toBe('/logout')
    await screenshot(page, 'home')
  })

  it(`the terminal: alice types echo ${nonce}, sees it, resizes the window; sshd logs the web key id`, async () => {
    const { page } = alice
    const violations = cspViolations(page)
    const spawnedBefore = context().terminals.spawned
    await openTerminal(page)
    expect(context().terminals.spawned).toBe(spawnedBefore + 1)
    await typeLine(page, `echo ${nonce}`)
    expect(await waitForLine(page, new RegExp(`^${nonce}$`))).toBe(nonce)

    await typeLine(page, 'echo "before $(stty size)"')
    const before = await waitForLine(page, /^before \d+ \d+$/)
    const rows = page.locator('.xterm-rows > div')
    const rowsBefore = await rows.count()
    await page.setViewportSize({ width: 820, height: 560 })
    await expect.poll(() => rows.count()).toBeLessThan(rowsBefore) // the page fitted the terminal to the window
    await typeLine(page, 'echo "after $(stty size)"')
    const after = await waitForLine(page, /^after \d+ \d+$/)
    console.log(`stty size in the terminal before the resize: ${before.slice(7)}; after: ${after.slice(6)}`)
    expect(after.slice(6)).toBe(`${await rows.count()} ${after.split(' ')[2]}`)
    expect(after.slice(6)).not.toBe(before.slice(7))
    await screenshot(page, 'terminal')

    const log = await stack.sshd.waitForLog(/ID jitssh-web:alice@example\.com:sid=[A-Za-z0-9_-]+:host=vm\.example\.com:serial=\d+ \(serial \d+\)/)
    console.log(`sshd: ${log.split('\n').find((line) => line.includes('jitssh-web:'))?.trim()}`)
    expect(violations).toEqual([])

    const removed = nextRemoval('terminal')
    await typeLine(page, 'exit')
    await removed
    await page.locator('#status', { hasText: 'Session ended' }).waitFor()
  })

  it('the stored .cast holds the nonce in an "o" event and the resize in an "r" event; its SHA-256 and size are in terminal.close; its certificate is recorded', async () => {
    const [close] = await store().admin.searchAudit({ user: 'alice@example.com', types: ['terminal.close'], order: 'desc', limit: 1 })
    const detail = close!.detail as { recording_id: string; recording_sha256: string; recording_size: number; bytes_out: number; duration_ms: number }
    recordingId = detail.recording_id
    const cast = (await store().recordings.chunks(recordingId, -1, 10_000)).map((chunk) => chunk.data).join('')
    expect(sha256(cast)).toBe(detail.recording_sha256)
    expect(Buffer.byteLength(cast)).toBe(detail.recording_size)
    expect(detail.bytes_out).toBeGreaterThan(0)
    const { header, events } = parseAsciicast(cast)
    expect(header).toMatchObject({ version: 2, env: { TERM: 'xterm-256color' } })
    expect(events.some((event) => event.type === 'o' && event.data.includes(`${nonce}\r\n`))).toBe(true)
    expect(events.some((event) => event.type === 'r' && /^\d+x\d+$/.test(event.data))).toBe(true)
    expect(events.some((event) => event.type === 'i')).toBe(false) // keystrokes are not recorded by default
    expect(await store().recordings.get(recordingId)).toMatchObject({ sha256: detail.recording_sha256, size: detail.recording_size, userEmail: 'alice@example.com', host: VM_HOST })

    const [open] = await store().admin.searchAudit({ user: 'alice@example.com', types: ['terminal.open'], order: 'desc', limit: 1 })
    const keyId = (open!.detail as { key_id: string }).key_id
    expect(keyId).toMatch(/^jitssh-web:alice@example\.com:sid=/)
    const certificates = await store().certificates.list({ userEmail: 'alice@example.com' })
    const web = certificates.find((certificate) => certificate.keyId === keyId)!
    expect(web.host).toBe(VM_HOST)
    expect(web.validBefore - web.validAfter).toBeLessThanOrEqual(5 * 60 + 60) // a few minutes (and the backdating)
    console.log(`recording ${recordingId}: ${detail.recording_size} bytes, sha256 ${detail.recording_sha256}, ${events.length} events`)
  })

  it('the player (carol, an auditor) shows the nonce; viewing is audited; carol is no admin', async () => {
    const carol = await signIn('/recordings', 'carol')
    const { page } = carol
    expect(await page.locator('tr', { hasText: 'alice@example.com' }).count()).toBeGreaterThan(0)
    await screenshot(page, 'recordings')
    const violations = cspViolations(page)
    await Promise.all([page.waitForURL(`${url()}/recordings/${recordingId}`), page.locator(`a[href="/recordings/${recordingId}"]`).click()])
    await page.selectOption('#speed', '8')
    expect(await waitForLine(page, new RegExp(`^${nonce}$`), 20_000)).toBe(nonce)
    await page.locator('#seek').fill('0') // seeking back: the screen is replayed from the start
    await page.locator('#play').click()
    await page.locator('#seek').fill(await page.locator('#seek').getAttribute('max') ?? '0')
    await waitForLine(page, new RegExp(`^${nonce}$`))
    await screenshot(page, 'player')
    expect(violations).toEqual([])
    const [viewed] = await store().admin.searchAudit({ user: 'carol@example.com', types: ['recording.view'], order: 'desc', limit: 1 })
    expect(viewed?.detail).toMatchObject({ recording_id: recordingId, recording_user: 'alice@example.com' })

    const admin = await page.goto(`${url()}/admin`)
    expect(admin?.status()).toBe(403)
    await carol.context.close()
  })

  it('jitssh recordings ls and export: the text has the nonce and no escape sequence; the cast has the audited SHA-256', async () => {
    const login = await bobHome.loginWithBrowser(browser, { username: 'bob', password: TEST_PASSWORD })
    expect(login.code, login.stderr).toBe(0)
    const listed = await bobHome.jitssh(['recordings', 'ls', '--user', 'alice@example.com', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    const recordings = (JSON.parse(listed.stdout) as { recordings: Array<{ id: string; sha256: string }> }).recordings
    expect(recordings.map((recording) => recording.id)).toContain(recordingId)

    const text = await bobHome.jitssh(['recordings', 'export', recordingId, '--format', 'text'])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout.split('\n')).toContain(nonce)
    expect(text.stdout).not.toMatch(/\x1b/)
    console.log(`jitssh recordings export --format text:\n${text.stdout}`)

    const cast = await bobHome.jitssh(['recordings', 'export', recordingId])
    expect(cast.code, cast.stderr).toBe(0)
    expect(sha256(cast.stdout)).toBe(recordings.find((recording) => recording.id === recordingId)!.sha256)
    const exported = await store().admin.searchAudit({ user: 'bob@example.com', types: ['recording.export'], order: 'desc', limit: 5 })
    expect(exported.length).toBe(2)
  })

  it('revoke: bob revokes alice on the admin page, and her open terminal closes within a second, saying why', async () => {
    const { page } = alice
    await page.setViewportSize({ width: 1200, height: 800 })
    await openTerminal(page)
    await typeLine(page, 'echo before-the-revocation')
    await waitForLine(page, /^before-the-revocation$/)
    const aliceCookie = (await alice.context.cookies(url())).find((cookie) => cookie.name === 'jitssh_session')!.value
    const aliceSession = browserSessionId(sha256Hex(aliceCookie))

    const bob = await signIn('/admin', 'bob')
    const row = bob.page.locator('tr', { hasText: aliceSession })
    expect(await row.innerText()).toMatch(new RegExp(`terminal ${VM_HOST.replace(/\./g, '\\.')} since`))
    await screenshot(bob.page, 'admin-sessions')

    let revokedAt = 0
    const unsubscribe = context().sessions.onRevoke((sessionId) => {
      if (sessionId === aliceSession) revokedAt ||= performance.now()
    })
    const removed = nextRemoval('terminal').then((tunnel) => ({ tunnel, at: performance.now() }))
    await Promise.all([bob.page.waitForURL(/\/admin\?revoked=1$/), row.getByRole('button', { name: 'Revoke' }).click()])
    const { tunnel, at } = await removed
    unsubscribe()
    const ms = at - revokedAt
    console.log(`revocation recorded by the server -> alice's terminal closed and its close audited: ${ms.toFixed(0)} ms`)
    expect(revokedAt).toBeGreaterThan(0)
    expect(tunnel.sessionId).toBe(aliceSession)
    expect(ms).toBeLessThan(1000)
    await page.locator('#status', { hasText: 'Disconnected: session revoked: by an admin.' }).waitFor({ timeout: 5_000 })
    await screenshot(page, 'terminal-revoked')
    expect(await bob.page.locator('[role="status"]').innerText()).toBe('Revoked 1 session.')

    // Its certificates are on the KRL: the terminal's ran under the revoked session.
    const revoked = await store().certificates.listRevoked(Math.floor(Date.now() / 1000))
    const mine = await store().certificates.list({ sessionId: aliceSession })
    expect(mine.length).toBeGreaterThan(0)
    for (const certificate of mine.filter((c) => c.validBefore > Date.now() / 1000)) expect(revoked.serials).toContain(certificate.serial)

    await bob.page.goto(`${url()}/admin/audit?user=alice%40example.com&type=terminal`)
    expect(await bob.page.locator('tbody tr').count()).toBeGreaterThanOrEqual(4)
    await screenshot(bob.page, 'admin-audit')
    await bob.context.close()
    await alice.context.close()
  })

  it('a page of another origin (same site, so the cookies go along) cannot open a terminal WebSocket, even with a valid ticket', async () => {
    alice = await signIn('/', 'alice')
    const home = await alice.page.content()
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(home)![1]!
    const terminalPage = await alice.context.request.post(`${url()}/terminal`, { form: { csrf_token: csrf, host: VM_HOST }, headers: { origin: url() } })
    const ticket = /data-ticket="([^"]+)"/.exec(await terminalPage.text())![1]!
    const wsUrl = `${url().replace(/^http/, 'ws')}/terminal/ws?ticket=${encodeURIComponent(ticket)}`
    const spawned = context().terminals.spawned

    const other = `http://127.0.0.1:${(evil.address() as { port: number }).port}`
    await alice.page.goto(`${other}/`)
    const outcome = await alice.page.evaluate(openSocketIn(wsUrl))
    console.log(`a page of ${other} opening the terminal socket: ${outcome}`)
    expect(outcome).toBe('closed 1006')
    expect(context().terminals.spawned).toBe(spawned)
    const [denied] = await store().admin.searchAudit({ user: 'alice@example.com', types: ['access.denied'], order: 'desc', limit: 1 })
    expect(denied?.detail).toMatchObject({ action: 'terminal', code: 'ERR_FORBIDDEN', reason: 'a terminal opens only from a page of this server' })

    // The same ticket with this server's Origin opens (the Origin was the only thing wrong).
    const cookie = (await alice.context.cookies(url())).find((candidate) => candidate.name === 'jitssh_session')!.value
    const own = new WebSocket(wsUrl, { headers: { origin: url(), cookie: `jitssh_session=${cookie}` } })
    await once(own, 'open')
    own.close()
    await once(own, 'close')
  })

  it('a host alice may not reach: refused before any ssh starts, by the button and by a ticket for it', async () => {
    const spawned = context().terminals.spawned
    await alice.page.goto(`${url()}/`)
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(await alice.page.content())![1]!
    const refused = await alice.context.request.post(`${url()}/terminal`, { form: { csrf_token: csrf, host: DENIED_HOST }, headers: { origin: url() } })
    expect(refused.status()).toBe(403)
    expect(await refused.text()).toContain(`no policy rule grants alice@example.com access to ${DENIED_HOST}`)

    // A ticket for that host (as if the policy had changed since the page was served): the socket is refused too.
    const cookie = (await alice.context.cookies(url())).find((candidate) => candidate.name === 'jitssh_session')!.value
    const ticket = randomBytes(32).toString('base64url')
    await store().sessions.createTerminalTicket({ ticketHash: sha256Hex(ticket), webSession: sha256Hex(cookie), host: DENIED_HOST, login: stack.sshd.user, createdAt: Date.now(), expiresAt: Date.now() + 30_000 })
    const ws = new WebSocket(`${url().replace(/^http/, 'ws')}/terminal/ws?ticket=${ticket}`, { headers: { origin: url(), cookie: `jitssh_session=${cookie}` } })
    ws.on('error', () => undefined)
    const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }]
    expect(response.statusCode).toBe(403)
    ws.terminate()
    expect(context().terminals.spawned).toBe(spawned)
    const denials = await store().admin.searchAudit({ user: 'alice@example.com', host: DENIED_HOST, types: ['access.denied'], order: 'desc', limit: 5 })
    expect(denials.map((event) => (event.detail as { action: string }).action)).toEqual(['terminal', 'terminal'])
    console.log(`refused terminals to ${DENIED_HOST}: ${denials.length}; ssh processes started for them: ${context().terminals.spawned - spawned}`)
    await alice.context.close()
  })
})
