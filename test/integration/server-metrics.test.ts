// GET /metrics of the real server: the Prometheus text format (read line by line by a strict parser), counters
// that move by exactly what happened (signing, tunnels and their bytes through a local TCP echo server,
// logins, token grants, denials, revocations) and nothing else, the gauges, the access rules (loopback, the
// bearer token compared whole, a TLS proxy in front), 404 when disabled, and the config checks.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { loadConfig, parseConfigText } from '../../src/server/config/load-config.js'
import type { LiveTunnel } from '../../src/server/bastion/tunnel-registry.js'
import { renderStarterConfig } from '../../src/server/commands/starter-config.js'
import { hashPassword } from '../../src/server/identity/password-hash.js'
import { SESSIONS_CACHE_MS } from '../../src/server/metrics/server-metrics.js'
import { adminCall, refreshWith, signFor } from '../helpers/admin.js'
import { parseExposition, seriesValues } from '../helpers/prometheus.js'
import { TestBrowser, loginWithPassword, startTestServer, submitLogin, testClock, writeTestConfig, type TestServer, listenOnLoopback } from '../helpers/server.js'

const TOKEN = `m-${randomBytes(24).toString('hex')}`
const clock = testClock()
let srv: TestServer
let echo: Server
let closedPort: number

const listen = listenOnLoopback

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  const echoPort = await listen(echo)
  const gone = createServer()
  closedPort = await listen(gone)
  gone.close()
  srv = await startTestServer({
    now: clock.now,
    targets: { 'echo.example.com': `127.0.0.1:${echoPort}`, 'down.example.com': `127.0.0.1:${closedPort}` },
    // No checkpoint while the counters are compared (fewer than 1000 events, and a long interval).
    config: { metrics: { enabled: true, token: TOKEN }, admins: { groups: ['ops'] }, bastion: { connect_timeout: '2s' }, audit: { checkpoints: { interval: '1h' } } },
  })
})
afterAll(async () => {
  await srv?.stop()
  echo?.close()
})

/** GET /metrics over real loopback HTTP (no token): the text. */
async function scrapeText(url = srv.url, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return response.text()
}

async function scrape(): Promise<Map<string, number>> {
  return seriesValues(parseExposition(await scrapeText()))
}

/** The jitssh_ series whose value changed (after - before), except the cached sessions gauge. */
function changes(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const moved: Record<string, number> = {}
  for (const [key, value] of after) {
    if (!key.startsWith('jitssh_') || key.startsWith('jitssh_sessions_active')) continue
    const difference = value - (before.get(key) ?? 0)
    if (difference !== 0) moved[key] = difference
  }
  for (const key of before.keys()) if (key.startsWith('jitssh_') && !after.has(key) && !key.startsWith('jitssh_sessions_active')) moved[key] = NaN
  return moved
}

function nextRemoval(): Promise<LiveTunnel> {
  return once(srv.server.context.tunnels, 'removed').then(([tunnel]) => tunnel as LiveTunnel)
}

/** Opens a tunnel; resolves with the socket, or with the HTTP status of the refusal. */
function openTunnel(host: string, token: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=${host}`, { headers: { authorization: `Bearer ${token}` } })
    ws.binaryType = 'nodebuffer'
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_request, response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    ws.once('error', reject)
  })
}

describe('GET /metrics: the exposition format', () => {
  it('is text format 0.0.4 that parses line by line, with HELP and TYPE for every family and the known series at 0 from the start', async () => {
    const text = await scrapeText()
    const families = parseExposition(text)
    const expected: Record<string, string> = {
      jitssh_certificates_signed_total: 'counter', jitssh_tunnels_opened_total: 'counter', jitssh_tunnels_closed_total: 'counter',
      jitssh_tunnel_connect_failures_total: 'counter', jitssh_tunnel_bytes_total: 'counter', jitssh_logins_total: 'counter',
      jitssh_token_grants_total: 'counter', jitssh_denials_total: 'counter', jitssh_sessions_revoked_total: 'counter',
      jitssh_audit_checkpoints_total: 'counter', jitssh_unauthenticated_requests_total: 'counter', jitssh_audit_events_skipped_total: 'counter',
      jitssh_rate_limited_requests_total: 'counter', jitssh_connections_refused_total: 'counter', jitssh_tunnels_live: 'gauge', jitssh_terminals_live: 'gauge', jitssh_sessions_active: 'gauge',
      process_cpu_seconds_total: 'counter', process_resident_memory_bytes: 'gauge', process_start_time_seconds: 'gauge',
    }
    expect(Object.fromEntries([...families.values()].map((family) => [family.name, family.type]))).toEqual(expected)
    for (const family of families.values()) {
      expect(family.help, family.name).toMatch(/\S/)
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/)
      expect(family.samples.length, family.name).toBeGreaterThan(0)
    }
    const values = seriesValues(families)
    for (const key of [
      'jitssh_certificates_signed_total{outcome="ok"}', 'jitssh_certificates_signed_total{outcome="denied"}',
      'jitssh_tunnel_bytes_total{direction="up"}', 'jitssh_tunnel_bytes_total{direction="down"}',
      'jitssh_token_grants_total{grant_type="device_code",outcome="ok"}', 'jitssh_denials_total{action="tunnel"}',
      'jitssh_sessions_revoked_total{cause="admin"}', 'jitssh_tunnels_opened_total',
    ]) {
      expect(values.has(key), key).toBe(true)
    }
    // The test server runs in this process: the process metrics are this process's.
    expect(values.get('process_start_time_seconds')).toBe(Math.round(performance.timeOrigin / 1000))
    expect(values.get('process_start_time_seconds')!).toBeLessThanOrEqual(Date.now() / 1000)
    const rss = values.get('process_resident_memory_bytes')!
    expect(rss).toBeGreaterThan(process.memoryUsage.rss() / 2)
    expect(rss).toBeLessThan(process.memoryUsage.rss() * 2)
    expect(values.get('process_cpu_seconds_total')!).toBeGreaterThan(0)
    expect(values.get('jitssh_tunnels_live')).toBe(0)
  })
})

describe('GET /metrics: counters move by exactly what happened', () => {
  let alice: Awaited<ReturnType<typeof loginWithPassword>>
  beforeAll(async () => {
    alice = await loginWithPassword(srv.url)
  })

  it('signing: one certificate issued, one refused by policy, one refused for want of a valid token', async () => {
    const before = await scrape()
    expect((await signFor(srv.url, alice.access_token, 'vm.example.com')).status).toBe(200)
    expect((await signFor(srv.url, alice.access_token, 'vm.internal')).status).toBe(403)
    expect((await signFor(srv.url, 'not-a-token', 'vm.example.com')).status).toBe(401)
    expect(changes(before, await scrape())).toEqual({
      'jitssh_certificates_signed_total{outcome="ok"}': 1,
      'jitssh_certificates_signed_total{outcome="denied"}': 1,
      'jitssh_denials_total{action="sign"}': 1,
      'jitssh_unauthenticated_requests_total{route="sign"}': 1,
    })
  })

  it('a tunnel: open and live with its bytes while it runs, then closed with the same bytes; refusals and an unreachable target', async () => {
    const before = await scrape()
    const ws = await openTunnel('echo.example.com', alice.access_token)
    if (typeof ws === 'number') throw new Error(`tunnel refused: ${ws}`)
    const payload = randomBytes(54_321)
    let received = 0
    const echoed = new Promise<void>((resolve) => ws.on('message', (data: Buffer) => (received += data.length) >= payload.length && resolve()))
    ws.send(payload)
    await echoed
    expect(changes(before, await scrape())).toEqual({
      jitssh_tunnels_opened_total: 1,
      jitssh_tunnels_live: 1,
      'jitssh_tunnel_bytes_total{direction="up"}': payload.length,
      'jitssh_tunnel_bytes_total{direction="down"}': payload.length,
    })
    const removal = nextRemoval()
    ws.close(1000)
    await removal
    expect(await openTunnel('other.example.com', alice.access_token)).toBe(403)
    expect(await openTunnel('down.example.com', alice.access_token)).toBe(502)
    expect(changes(before, await scrape())).toEqual({
      jitssh_tunnels_opened_total: 1,
      jitssh_tunnels_closed_total: 1,
      'jitssh_tunnel_bytes_total{direction="up"}': payload.length,
      'jitssh_tunnel_bytes_total{direction="down"}': payload.length,
      'jitssh_denials_total{action="tunnel"}': 1,
      jitssh_tunnel_connect_failures_total: 1,
    })
  })

  it('logins, token grants by grant type, and revocations by cause', async () => {
    const before = await scrape()
    const bob = await loginWithPassword(srv.url, 'bob')
    const wrong = await submitLogin(new TestBrowser(), `${srv.url}/login?return_to=%2Fdevice`, 'bob', 'not the password')
    expect(wrong.status).toBe(401)
    const carol = await loginWithPassword(srv.url)
    expect((await refreshWith(srv.url, carol.refresh_token)).status).toBe(200)
    expect((await refreshWith(srv.url, carol.refresh_token)).status).toBe(400) // reuse: the session is revoked
    const dave = await loginWithPassword(srv.url)
    const logout = await fetch(`${srv.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: dave.refresh_token }) })
    expect(logout.status).toBe(200)
    const erin = await loginWithPassword(srv.url)
    expect((await adminCall(srv.url, bob.access_token, 'revoke', { session_id: erin.session_id })).status).toBe(200)
    expect((await adminCall(srv.url, alice.access_token, 'sessions')).status).toBe(403)
    expect(changes(before, await scrape())).toEqual({
      'jitssh_logins_total{outcome="ok"}': 4,
      'jitssh_logins_total{outcome="denied"}': 1,
      'jitssh_token_grants_total{grant_type="authorization_code",outcome="ok"}': 4,
      'jitssh_token_grants_total{grant_type="refresh_token",outcome="ok"}': 1,
      'jitssh_token_grants_total{grant_type="refresh_token",outcome="denied"}': 1,
      'jitssh_sessions_revoked_total{cause="token_reuse"}': 1,
      'jitssh_sessions_revoked_total{cause="logout"}': 1,
      'jitssh_sessions_revoked_total{cause="admin"}': 1,
      'jitssh_denials_total{action="admin"}': 1,
      // The wrong password and the reused refresh token came from callers who had not authenticated.
      'jitssh_unauthenticated_requests_total{route="login"}': 1,
      'jitssh_unauthenticated_requests_total{route="token"}': 1,
    })
  })

  it('the active-sessions gauge is the store count, cached for SESSIONS_CACHE_MS of the server clock', async () => {
    clock.advance(SESSIONS_CACHE_MS)
    const counted = (await srv.server.store.admin.listSessions({ now: clock.now(), includeEnded: false, limit: 1000 })).length
    expect(counted).toBeGreaterThan(0)
    expect((await scrape()).get('jitssh_sessions_active')).toBe(counted)
    await loginWithPassword(srv.url)
    expect((await scrape()).get('jitssh_sessions_active')).toBe(counted)
    clock.advance(SESSIONS_CACHE_MS)
    expect((await scrape()).get('jitssh_sessions_active')).toBe(counted + 1)
  })
})

describe('GET /metrics: who may read it', () => {
  const inject = (remoteAddress: string, authorization?: string) =>
    srv.server.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: authorization === undefined ? {} : { authorization } })

  it('answers loopback peers without a token (127.0.0.0/8, ::1, IPv4-mapped loopback)', async () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect((await inject(address)).statusCode, address).toBe(200)
  })

  it('answers anyone else only with the whole token, and otherwise exactly as an unknown path', async () => {
    const remote = '203.0.113.9'
    const ok = await inject(remote, `Bearer ${TOKEN}`)
    expect(ok.statusCode).toBe(200)
    expect(() => parseExposition(ok.body)).not.toThrow()
    expect((await inject(remote, `bearer ${TOKEN}`)).statusCode).toBe(200)
    const unknown = await srv.server.app.inject({ method: 'GET', url: '/no-such-path', remoteAddress: remote })
    for (const authorization of [undefined, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('0') ? '1' : '0'}`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN, 'Bearer ']) {
      const refused = await inject(remote, authorization)
      expect(refused.statusCode, authorization).toBe(404)
      expect(refused.json()).toEqual({ error: 'ERR_NOT_FOUND', message: 'no such endpoint: GET /metrics' })
      expect(refused.headers['content-type']).toBe(unknown.headers['content-type'])
    }
    for (const address of ['::ffff:10.0.0.1', '10.0.0.1', '::2']) expect((await inject(address)).statusCode, address).toBe(404)
  })

  it('is not there at all when metrics are not enabled (404 from loopback, with the token too)', async () => {
    for (const config of [{}, { metrics: { enabled: false, token: TOKEN } }]) {
      const off = await startTestServer({ config })
      try {
        for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }] as Array<Record<string, string>>) {
          const response = await fetch(`${off.url}/metrics`, { headers })
          expect(response.status).toBe(404)
          expect(await response.json()).toEqual({ error: 'ERR_NOT_FOUND', message: 'no such endpoint: GET /metrics' })
        }
      } finally {
        await off.stop()
      }
    }
  })

  it('behind a TLS proxy wants the token from loopback too (the proxy connects from there)', async () => {
    const proxied = await startTestServer({ config: { behind_tls_proxy: true, public_url: 'https://access.example.com', metrics: { enabled: true, token: TOKEN } } })
    try {
      const { port } = proxied.server.app.server.address() as { port: number }
      const direct = `http://127.0.0.1:${port}`
      expect((await fetch(`${direct}/metrics`)).status).toBe(404)
      expect((await fetch(`${direct}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } })).status).toBe(404)
      expect((await fetch(`${direct}/metrics`, { headers: { authorization: `Bearer ${TOKEN.toUpperCase()}` } })).status).toBe(404)
      expect(parseExposition(await scrapeText(direct, { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': '198.51.100.7' })).has('jitssh_tunnels_live')).toBe(true)
    } finally {
      await proxied.stop()
    }
  })
})

describe('metrics config', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jitssh-metrics-config-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const load = async (config: Record<string, unknown>) => loadConfig(await writeTestConfig(dir, { config: { keys_dir: 'keys', ...config } }))

  it('is off by default; enabled with a token, or without one (loopback only)', async () => {
    expect((await load({})).metrics).toEqual({ enabled: false, token: undefined, allowLoopback: true })
    expect((await load({ metrics: { enabled: true, token: TOKEN } })).metrics).toEqual({ enabled: true, token: TOKEN, allowLoopback: true })
    expect((await load({ metrics: { enabled: true } })).metrics).toEqual({ enabled: true, token: undefined, allowLoopback: true })
  })

  it.each([
    [{ metrics: { enabled: 'yes' } }, 'metrics.enabled: expected true or false'],
    [{ metrics: { enabled: true, tokn: TOKEN } }, 'metrics.tokn: unknown key (expected one of: enabled, token)'],
    [{ metrics: { enabled: true, token: 'too-short' } }, 'metrics.token: expected at least 32 characters of A-Z a-z 0-9 . _ ~ + / - (make one with: openssl rand -hex 32)'],
    [{ metrics: { enabled: true, token: `${TOKEN} x` } }, 'metrics.token: expected at least 32 characters'],
    [{ metrics: { enabled: true, token: 12345 } }, 'metrics.token: expected a non-empty string'],
    [{ metrics: true }, 'metrics: expected a mapping'],
    [
      { behind_tls_proxy: true, public_url: 'https://access.example.com', metrics: { enabled: true } },
      'metrics.token: is required with behind_tls_proxy: requests through the proxy come from its address, so loopback alone does not identify the scraper',
    ],
  ])('refuses %j', async (config, message) => {
    await expect(load(config)).rejects.toThrow(`config.yaml: ${message}`)
  })

  it('the starter config documents it: uncommented, it asks for a real token, and takes one', async () => {
    const starter = renderStarterConfig({ username: 'root', email: 'root@example.com', passwordHash: await hashPassword('x', { N: 1024, r: 8, p: 1 }) })
    const block = /^# metrics:\n(?:# {3}.*\n)+/m.exec(starter)?.[0]
    expect(block).toBeDefined()
    const uncommented = starter.replace(block!, block!.replace(/^# /gm, ''))
    expect(() => parseConfigText(uncommented, 'config.yaml')).toThrow(/config\.yaml: metrics\.token: expected at least 32 characters/)
    const withToken = uncommented.replace(/^( {2}token: ).*$/m, `$1${TOKEN}`)
    expect(parseConfigText(withToken, 'config.yaml').metrics).toEqual({ enabled: true, token: TOKEN, allowLoopback: true })
  })
})
