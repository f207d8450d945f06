// Requests without a valid token cannot fill the audit log. One client (127.0.0.2) floods POST /v1/ssh/sign
// and GET /v1/tunnel (WebSocket upgrades) with no token, malformed tokens and tokens signed by another key,
// while alice (127.0.0.1) keeps signing. Before the change every refused request wrote a durable,
// hash-chained access.denied row (with up to 300 characters of the attacker's choosing): this test found
// 4000 rows for its 4000 requests. Also: the token endpoint's and the login form's refusals of unknown
// codes, tokens and users are budgeted, with room kept for rows about real accounts; and the default
// per-IP limits let a run of 50 parallel ssh through.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { Writable } from 'node:stream'
import { SignJWT } from 'jose'
import { Agent, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CLIENT_ID } from '../../src/shared/protocol.js'
import { refreshWith, signFor } from '../helpers/admin.js'
import { parseExposition, seriesValues } from '../helpers/prometheus.js'
import { listenOnLoopback, loginWithPassword, startTestServer, testClock, type TestServer } from '../helpers/server.js'

const FLOOD_ADDRESS = '127.0.0.2'
const SIGN_FLOOD = 3000
const TUNNEL_FLOOD = 1000
const PARALLEL = 50

let srv: TestServer
let echo: Server
let flooder: Agent
/** The server's JSON log lines. */
const logLines: Array<Record<string, unknown>> = []

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  const echoPort = await listenOnLoopback(echo)
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  srv = await startTestServer({
    targets: { 'echo.example.com': `127.0.0.1:${echoPort}` },
    config: { metrics: { enabled: true } },
    logStream,
  })
  flooder = new Agent({ localAddress: FLOOD_ADDRESS, connections: PARALLEL })
})
afterAll(async () => {
  await flooder?.close()
  await srv?.stop()
  echo?.close()
})

/** Tokens an attacker can send: none, garbage, and well-formed JWTs signed by a key that is not the server's. */
async function attackerTokens(): Promise<Array<string | undefined>> {
  const { privateKey } = generateKeyPairSync('ed25519')
  const forged = await new SignJWT({ sid: 'nope', email: 'mallory@example.com', groups: [] })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).setIssuer(srv.url).setAudience(srv.url).setSubject('mallory')
    .setIssuedAt().setExpirationTime('10m').setJti('x').sign(privateKey)
  return [undefined, 'not-a-token', `${randomBytes(20).toString('base64url')}.${randomBytes(40).toString('base64url')}.x`, forged]
}

/** Runs `count` calls of `one`, `PARALLEL` at a time; resolves with each call's HTTP status. */
async function inParallel(count: number, one: (index: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = []
  let next = 0
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < count) statuses.push(await one(next++))
  }))
  return statuses
}

function floodSign(tokens: Array<string | undefined>): Promise<number[]> {
  return inParallel(SIGN_FLOOD, async (index) => {
    const token = tokens[index % tokens.length]
    const response = await undiciFetch(`${srv.url}/v1/ssh/sign`, {
      method: 'POST',
      dispatcher: flooder,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ public_key: 'ssh-ed25519 AAAA', hostname: `${'x'.repeat(250)}.example.com` }),
    })
    await response.arrayBuffer()
    return response.status
  })
}

function floodTunnel(tokens: Array<string | undefined>): Promise<number[]> {
  return inParallel(TUNNEL_FLOOD, (index) => new Promise((resolve, reject) => {
    const token = tokens[index % tokens.length]
    const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=echo.example.com`, { localAddress: FLOOD_ADDRESS, headers: token ? { authorization: `Bearer ${token}` } : {} })
    ws.once('unexpected-response', (_request, response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
      ws.terminate()
    })
    ws.once('open', () => reject(new Error('a tunnel opened without a valid token')))
    ws.once('error', (error) => (/Unexpected server response/.test(error.message) ? undefined : reject(error)))
  }))
}

async function metric(key: string): Promise<number> {
  const values = seriesValues(parseExposition(await (await fetch(`${srv.url}/metrics`)).text()))
  return values.get(key) ?? 0
}

describe('a flood of requests without a valid token', () => {
  it('writes no audit rows, is counted in metrics, and does not stop alice from signing', async () => {
    const alice = await loginWithPassword(srv.url)
    const auditBefore = (await srv.server.store.audit.head())!.seq
    const tokens = await attackerTokens()

    let legitimate = 0
    let floodDone = false
    const signing = (async () => {
      const statuses: number[] = []
      while (!floodDone || statuses.length < 20) statuses.push((await signFor(srv.url, alice.access_token, 'vm.example.com')).status)
      legitimate = statuses.length
      return statuses
    })()
    const [signFlood, tunnelFlood] = await Promise.all([floodSign(tokens), floodTunnel(tokens)])
    floodDone = true
    const aliceStatuses = await signing

    expect(signFlood.filter((status) => status === 401 || status === 429)).toHaveLength(SIGN_FLOOD)
    expect(tunnelFlood.filter((status) => status === 401 || status === 429)).toHaveLength(TUNNEL_FLOOD)
    expect(aliceStatuses.filter((status) => status === 200)).toHaveLength(legitimate)

    // Only alice's certificates were audited: the flood left no row at all.
    const added = await srv.server.store.audit.read(auditBefore, 100_000)
    expect(added.filter((row) => row.type !== 'cert.sign')).toHaveLength(0)
    expect(added).toHaveLength(legitimate)

    // Each flooded request is counted: refused for want of a valid token, or turned away by the per-IP limit.
    const counted = async (route: string): Promise<number> =>
      (await metric(`jitssh_unauthenticated_requests_total{route="${route}"}`)) + (await metric(`jitssh_rate_limited_requests_total{route="${route}"}`))
    expect(await counted('sign')).toBe(SIGN_FLOOD)
    expect(await counted('tunnel')).toBe(TUNNEL_FLOOD)
    // The default per-IP limit (1200 a minute) turned most of the signing flood away before any work.
    expect(await metric('jitssh_rate_limited_requests_total{route="sign"}')).toBe(signFlood.filter((status) => status === 429).length)
    expect(signFlood.filter((status) => status === 429).length).toBeGreaterThanOrEqual(SIGN_FLOOD - 2 * 1200)

    // The log got a line per route at once, then counts at most once a minute (the rest at shutdown): no
    // line per request, and together they count every refusal.
    const unauthenticatedSign = await metric('jitssh_unauthenticated_requests_total{route="sign"}')
    const unauthenticatedTunnel = await metric('jitssh_unauthenticated_requests_total{route="tunnel"}')
    const refusalLines = (route: string) => logLines.filter((line) => line.route === route && /refused without a valid token/.test(String(line.msg)))
    expect(refusalLines('sign')).toHaveLength(1)
    expect(refusalLines('sign')[0]).toMatchObject({ count: 1, ip: FLOOD_ADDRESS, reason: expect.any(String) })
    await srv.server.close()
    expect(refusalLines('sign')).toHaveLength(2)
    expect(refusalLines('sign').reduce((sum, line) => sum + Number(line.count), 0)).toBe(unauthenticatedSign)
    expect(refusalLines('tunnel').reduce((sum, line) => sum + Number(line.count), 0)).toBe(unauthenticatedTunnel)
    expect(JSON.stringify(logLines)).not.toContain('x'.repeat(250))
  })
})

describe('unauthenticated token and login refusals', () => {
  it('are audited only within the budget, and the half kept for real accounts still records theirs', async () => {
    const budget = 20
    const own = await startTestServer({
      now: testClock().now, // a clock that stands still: the budget does not refill during the test
      config: {
        metrics: { enabled: true },
        rate_limits: { unauthenticated_audit_per_minute: budget, token_per_minute: 100_000, login_posts_per_minute: 100_000 },
      },
    })
    try {
      const bob = await loginWithPassword(own.url, 'bob')
      const before = (await own.server.store.audit.head())!.seq
      const unknownRefresh = inParallel(300, async () => {
        const response = await undiciFetch(`${own.url}/token`, {
          method: 'POST', dispatcher: flooder, headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: randomBytes(32).toString('base64url'), client_id: CLIENT_ID }).toString(),
        })
        await response.arrayBuffer()
        return response.status
      })
      const unknownUser = inParallel(100, async () => {
        const response = await undiciFetch(`${own.url}/login`, {
          method: 'POST', dispatcher: flooder, headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: `nobody-${randomBytes(4).toString('hex')}`, password: 'guess', csrf_token: 'forged' }).toString(),
        })
        await response.arrayBuffer()
        return response.status
      })
      expect(new Set(await unknownRefresh)).toEqual(new Set([400]))
      expect(new Set(await unknownUser)).toEqual(new Set([403]))

      // bob's refresh token used twice: the reuse is about a real account, and the reserved half is there for it.
      expect((await refreshWith(own.url, bob.refresh_token)).status).toBe(200)
      expect((await refreshWith(own.url, bob.refresh_token)).status).toBe(400)

      const added = await own.server.store.audit.read(before, 100_000)
      const anonymous = added.filter((row) => (row.type === 'token.denied' && row.detail.reason === 'unknown refresh token') || (row.type === 'login' && row.outcome === 'denied'))
      expect(anonymous).toHaveLength(budget / 2)
      expect(added.filter((row) => row.type === 'token.refresh_reuse')).toMatchObject([{ user: 'bob@example.com', outcome: 'denied' }])
      const values = seriesValues(parseExposition(await (await fetch(`${own.url}/metrics`)).text()))
      expect(values.get('jitssh_unauthenticated_requests_total{route="token"}')).toBe(301)
      expect(values.get('jitssh_unauthenticated_requests_total{route="login"}')).toBe(100)
      expect((values.get('jitssh_audit_events_skipped_total{route="token"}') ?? 0) + (values.get('jitssh_audit_events_skipped_total{route="login"}') ?? 0)).toBe(400 - budget / 2)
    } finally {
      await own.stop()
    }
  })
})

describe('the default per-IP limits', () => {
  it('let one client sign for and open tunnels to 50 hosts at once (an Ansible run)', async () => {
    const own = await startTestServer({ targets: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`host${i}.example.com`, `127.0.0.1:${(echo.address() as { port: number }).port}`])) })
    try {
      const alice = await loginWithPassword(own.url)
      const signed = await Promise.all(Array.from({ length: 50 }, (_, i) => signFor(own.url, alice.access_token, `host${i}.example.com`)))
      expect(signed.filter((result) => result.status === 200)).toHaveLength(50)
      const tunnels = await Promise.all(Array.from({ length: 50 }, (_, i) => new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`${own.url.replace(/^http/, 'ws')}/v1/tunnel?host=host${i}.example.com`, { headers: { authorization: `Bearer ${alice.access_token}` } })
        ws.once('open', () => resolve(ws))
        ws.once('error', reject)
      })))
      expect(tunnels.filter((ws) => ws.readyState === WebSocket.OPEN)).toHaveLength(50)
      for (const ws of tunnels) ws.close()
    } finally {
      await own.stop()
    }
  })
})
