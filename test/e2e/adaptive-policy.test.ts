// Adaptive, live policy with real parts (issue 13): a rule's time window that closes 20 s into a live
// `ssh host sleep 120` ends it, with policy.window_closed in the audit log, and the next ssh is refused;
// a rule's source networks let 127.0.0.1 in and keep 127.0.0.2 out, for signing and for tunnels.
import { once } from 'node:events'
import { userInfo } from 'node:os'
import type { Browser } from 'playwright-core'
import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { launchChromium } from '../helpers/chromium.js'
import { loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'
import { startStack, VM_HOST, type Stack } from '../helpers/stack.js'

const pad = (n: number): string => String(n).padStart(2, '0')
const hhmm = (minutes: number): string => `${pad(Math.floor(minutes / 60) % 24)}:${pad(minutes % 60)}`

describe('a time window that closes while ssh runs', { timeout: 120_000 }, () => {
  let stack: Stack
  let browser: Browser
  /**
   * The server's clock runs at real speed, shifted ahead (by less than the certificates' 60 s backdating, so
   * the real sshd accepts them) so that the minute boundary where the rule's window closes comes 20 s after
   * the ssh starts.
   */
  let offset = 0
  let closesAt = 0

  beforeAll(async () => {
    const boundary = Math.ceil((Date.now() + 45_000) / 60_000) * 60_000 // a whole minute, 45-105 s ahead
    closesAt = boundary
    const endMinute = new Date(boundary).getUTCHours() * 60 + new Date(boundary).getUTCMinutes()
    const window = `${hhmm((endMinute + 24 * 60 - 30) % (24 * 60))}-${hhmm(endMinute)}`
    ;[stack, browser] = await Promise.all([
      startStack({
        serverNow: () => Date.now() + offset,
        policy: [{ name: 'office-hours', groups: ['dev'], hosts: [VM_HOST], principals: [userInfo().username], when: { hours: window, time_zone: 'UTC' } }],
      }),
      launchChromium(),
    ])
  }, 60_000)
  afterAll(async () => {
    await Promise.allSettled([browser?.close(), stack?.stop()])
  })

  it('ends the live ssh within a second of the window closing, says why, and refuses the next ssh', async () => {
    expect((await stack.loginWithBrowser(browser)).code).toBe(0)
    expect((await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'])).code).toBe(0)
    // Start the ssh so that the window closes 20 s into it: move the server's clock there (ahead by <= 55 s).
    const ahead = closesAt - 20_000 - Date.now()
    if (ahead > 55_000) await new Promise((resolve) => setTimeout(resolve, ahead - 55_000))
    offset = Math.max(0, closesAt - 20_000 - Date.now())
    const serverNow = (): number => Date.now() + offset
    const started = serverNow()
    const ssh = await stack.ssh([VM_HOST, 'sleep', '120'])
    const ended = serverNow()
    expect(ssh.code).not.toBe(0)
    expect(started).toBeLessThan(closesAt - 15_000)
    expect(ended - closesAt).toBeGreaterThanOrEqual(0)
    expect(ended - closesAt).toBeLessThan(1_500)
    console.log(`the window closed ${Math.round((closesAt - started) / 1000)} s into the ssh; it ended ${ended - closesAt} ms after`)
    expect(ssh.stderr).toMatch(/^jitssh: access to vm\.example\.com:22 denied: policy\.window_closed: rule "office-hours" does not let alice@example\.com reach vm\.example\.com now: it allows access only/m)
    const closes = (await stack.server.server.store.audit.read(0, 100_000)).filter((event) => event.type === 'tunnel.close')
    expect(String(closes.at(-1)?.detail.reason)).toMatch(/^policy\.window_closed: /)
    const next = await stack.ssh([VM_HOST, 'true'], { env: { JITSSH_CERT_MARGIN: '86400' } })
    expect(next.code).not.toBe(0)
    expect(next.stderr).toMatch(/jitssh: access to vm\.example\.com denied: rule "office-hours" does not let alice@example\.com reach vm\.example\.com now/)
  })
})

describe('source networks (127.0.0.1 vs 127.0.0.2)', () => {
  let srv: TestServer
  let echoPort: number
  beforeAll(async () => {
    const { createServer } = await import('node:net')
    const echo = createServer((socket) => socket.pipe(socket))
    echo.listen(0, '127.0.0.1')
    await once(echo, 'listening')
    echoPort = (echo.address() as { port: number }).port
    srv = await startTestServer({
      targets: { 'vm.example.com': `127.0.0.1:${echoPort}` },
      policy: [{ name: 'office', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'], when: { source_networks: ['127.0.0.1/32'] } }],
    })
  })
  afterAll(async () => srv?.stop())

  const signFrom = async (localAddress: string, token: string): Promise<{ status: number; body: { message?: string } }> => {
    const response = await undiciFetch(`${srv.url}/v1/ssh/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair().publicKey), hostname: 'vm.example.com' }),
      dispatcher: new Agent({ localAddress }),
    })
    return { status: response.status, body: (await response.json()) as { message?: string } }
  }

  it('signs for a client on 127.0.0.1 and refuses one on 127.0.0.2, naming the address', async () => {
    const alice = await loginWithPassword(srv.url)
    expect((await signFrom('127.0.0.1', alice.access_token)).status).toBe(200)
    const refused = await signFrom('127.0.0.2', alice.access_token)
    expect(refused.status).toBe(403)
    expect(refused.body.message).toMatch(/your address 127\.0\.0\.2 is not in the networks it allows \(127\.0\.0\.1\/32\)/)
  })

  it('opens a tunnel for 127.0.0.1 and refuses one from 127.0.0.2 before connecting to the target', async () => {
    const alice = await loginWithPassword(srv.url)
    const open = (localAddress: string): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=vm.example.com`, { headers: { authorization: `Bearer ${alice.access_token}` }, localAddress })
        ws.once('open', () => (ws.close(), resolve(101)))
        ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0))
      })
    expect(await open('127.0.0.1')).toBe(101)
    expect(await open('127.0.0.2')).toBe(403)
    const denied = (await srv.server.store.audit.read(0, 10_000)).filter((event) => event.type === 'access.denied' && event.detail.action === 'tunnel')
    expect(denied.at(-1)?.detail).toMatchObject({ policy: 'policy.source_network', ip: '127.0.0.2' })
  })
})
