// The raw tunnel (`Upgrade: jitssh-tunnel/1` on GET /v1/tunnel, records of plain bytes: src/shared/tunnel-records.ts)
// against a real jitssh-server and local TCP targets, with a client written here byte by byte, so that it can do
// what the CLI never does: split records anywhere, send early data, break the format, stop answering pings.
// Everything the WebSocket transport promises holds here too: every check before the 101, tunnel.open written
// before it, revocation closes with a reason the client reads, keepalive, backpressure, close audited with bytes.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, TUNNEL_CLOSE } from '../../src/shared/protocol.js'
import { closeRecord, controlRecord, parseClosePayload, RECORD, RecordReader, recordHeader } from '../../src/shared/tunnel-records.js'
import type { LiveTunnel } from '../../src/server/bastion/tunnel-registry.js'
import { openTunnel, runTunnel } from '../../src/client/tunnel/tunnel.js'
import { listenOnLoopback, loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'
import { makeTempHome, removeTempHome, testContext } from '../helpers/cli.js'
import { startConnectProxy } from '../helpers/connect-proxy.js'

let srv: TestServer
let alice: Awaited<ReturnType<typeof loginWithPassword>>
let echo: Server
let sink: Server
const sinkSockets: Socket[] = []

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  sink = createServer((socket) => void sinkSockets.push(socket))
  srv = await startTestServer({
    targets: { 'echo.example.com': `127.0.0.1:${await listenOnLoopback(echo)}`, 'sink.example.com': `127.0.0.1:${await listenOnLoopback(sink)}` },
    config: { bastion: { keepalive: '1s', connect_timeout: '2s' } },
  })
  alice = await loginWithPassword(srv.url)
})
afterAll(async () => {
  await srv?.stop()
  echo?.close()
  sink?.close()
})

interface RawClient {
  socket: Socket
  /** The 101's tunnel id (as in the audit events). */
  tunnelId: string
  /** DATA received so far. */
  data(): Buffer
  /** Resolves once `bytes` of DATA have arrived. */
  received(bytes: number): Promise<Buffer>
  /** The server's CLOSE record (or null when the socket closed without one). */
  closed: Promise<{ code: number; reason: string } | null>
  pings: number
}

type Opened = { client: RawClient } | { status: number; body: Record<string, unknown> }

/** GET /v1/tunnel with the raw upgrade, written by hand; `early` goes in the same write as the request. */
async function rawOpen(host: string, options: { token?: string | null; early?: Buffer; answerPings?: boolean } = {}): Promise<Opened> {
  const { port } = new URL(srv.url)
  const socket = connect({ host: '127.0.0.1', port: Number(port) })
  await once(socket, 'connect')
  const token = options.token === undefined ? alice.access_token : options.token
  const request = [`GET /v1/tunnel?host=${encodeURIComponent(host)} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: jitssh-tunnel/1', ...(token ? [`Authorization: Bearer ${token}`] : []), '', ''].join('\r\n')
  socket.write(options.early ? Buffer.concat([Buffer.from(request), options.early]) : request)
  let buffered = Buffer.alloc(0)
  while (!buffered.includes('\r\n\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer]
    buffered = Buffer.concat([buffered, chunk])
  }
  socket.pause()
  const headEnd = buffered.indexOf('\r\n\r\n')
  const head = buffered.subarray(0, headEnd).toString('latin1')
  let rest = buffered.subarray(headEnd + 4)
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
  if (status !== 101) {
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
    socket.resume()
    while (rest.length < length) rest = Buffer.concat([rest, ((await once(socket, 'data')) as [Buffer])[0]])
    socket.destroy()
    return { status, body: JSON.parse(rest.toString('utf8')) as Record<string, unknown> }
  }
  const tunnelId = /jitssh-tunnel-id: (\S+)/i.exec(head)?.[1] ?? ''
  const chunks: Buffer[] = []
  let total = 0
  const waiters: Array<{ bytes: number; resolve: (data: Buffer) => void }> = []
  let resolveClosed: (value: { code: number; reason: string } | null) => void = () => undefined
  const client: RawClient = {
    socket,
    tunnelId,
    data: () => Buffer.concat(chunks),
    received: (bytes) => new Promise((resolve) => (total >= bytes ? resolve(client.data()) : waiters.push({ bytes, resolve }))),
    closed: new Promise((resolve) => (resolveClosed = resolve)),
    pings: 0,
  }
  const reader = new RecordReader({
    data(bytes) {
      chunks.push(Buffer.from(bytes))
      total += bytes.length
      for (const waiter of waiters.filter((w) => total >= w.bytes)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(client.data())
      }
    },
    control(type, payload) {
      if (type === RECORD.PING) {
        client.pings += 1
        if (options.answerPings !== false) socket.write(controlRecord(RECORD.PONG, payload))
      }
      if (type === RECORD.CLOSE) resolveClosed(parseClosePayload(payload))
    },
  })
  socket.on('data', (chunk: Buffer) => void reader.push(chunk))
  socket.on('close', () => resolveClosed(null))
  socket.on('error', () => undefined)
  if (rest.length > 0) reader.push(rest)
  socket.resume()
  return { client }
}

async function open(host: string, options: Parameters<typeof rawOpen>[1] = {}): Promise<RawClient> {
  const opened = await rawOpen(host, options)
  if (!('client' in opened)) throw new Error(`tunnel refused: ${JSON.stringify(opened)}`)
  return opened.client
}

const data = (bytes: Buffer): Buffer => Buffer.concat([recordHeader(RECORD.DATA, bytes.length), bytes])

function nextRemoval(): Promise<LiveTunnel> {
  return once(srv.server.context.tunnels, 'removed').then(([tunnel]) => tunnel as LiveTunnel)
}

async function eventsOf(tunnelId: string) {
  const events = await srv.server.store.audit.read(0, 100_000)
  return events.filter((event) => event.detail.tunnel === tunnelId)
}

describe('the raw upgrade is refused before the 101, as plain HTTP with a JSON reason, and nothing is recorded as open', () => {
  it.each([
    ['no token', 'echo.example.com', null, 401, 'ERR_NOT_LOGGED_IN'],
    ['a forged token', 'echo.example.com', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.', 401, 'ERR_NOT_LOGGED_IN'],
    ['a host no rule grants', 'echo.internal', undefined, 403, 'ERR_POLICY_DENIED'],
    ['a host that is not a target', 'other.example.com', undefined, 403, 'ERR_FORBIDDEN'],
  ])('%s', async (_what, host, token, status, code) => {
    const live = srv.server.context.tunnels.size
    const opened = await rawOpen(host, { token })
    expect(opened).toMatchObject({ status, body: { error: code } })
    expect(srv.server.context.tunnels.size).toBe(live)
  })

  it('sends nothing of early data to a target when the upgrade is refused', async () => {
    const before = sinkSockets.length
    const opened = await rawOpen('sink.example.com', { token: null, early: data(Buffer.from('SSH-2.0-early\r\n')) })
    expect(opened).toMatchObject({ status: 401 })
    expect(sinkSockets.length).toBe(before)
  })
})

describe('an open raw tunnel', () => {
  it('carries bytes both ways, byte-identical, however the records are cut; open (transport raw) and close are audited with the 101 tunnel id and byte counts', async () => {
    const client = await open('echo.example.com')
    expect(client.tunnelId).toMatch(/^[0-9a-f-]{36}$/)
    const payload = randomBytes(1_000_000)
    // Three records: one written a byte at a time (headers split), then two in one write.
    const first = data(payload.subarray(0, 1000))
    for (const byte of first) client.socket.write(Buffer.of(byte))
    client.socket.write(Buffer.concat([data(payload.subarray(1000, 500_000)), data(payload.subarray(500_000))]))
    expect((await client.received(payload.length)).equals(payload)).toBe(true)
    const removal = nextRemoval()
    client.socket.end(closeRecord(1000, 'client done'))
    expect((await removal).recordId).toBe(client.tunnelId)
    const events = await eventsOf(client.tunnelId)
    expect(events.map((event) => event.type)).toEqual(['tunnel.open', 'tunnel.close'])
    expect(events[0]).toMatchObject({ user: 'alice@example.com', host: 'echo.example.com', sessionId: alice.session_id, detail: { transport: 'raw' } })
    expect(events[1]).toMatchObject({ detail: { bytes_up: payload.length, bytes_down: payload.length, close_code: 1000 } })
  })

  it('carries data sent right behind the upgrade request (before the 101) first, in order', async () => {
    const client = await open('echo.example.com', { early: data(Buffer.from('early bytes;')) })
    client.socket.write(data(Buffer.from('later bytes')))
    expect((await client.received(23)).toString()).toBe('early bytes;later bytes')
    client.socket.destroy()
  })

  it('ends with CLOSE 4000 when the target closes the connection', async () => {
    const client = await open('sink.example.com')
    await expect.poll(() => sinkSockets.length).toBeGreaterThan(0)
    sinkSockets.at(-1)!.end()
    expect(await client.closed).toMatchObject({ code: TUNNEL_CLOSE.TARGET_CLOSED })
  })

  it('ends with CLOSE 4001 and the reason at once when the session is revoked', async () => {
    const bob = await loginWithPassword(srv.url)
    const client = await open('echo.example.com', { token: bob.access_token })
    const started = Date.now()
    const removal = nextRemoval()
    await fetch(`${srv.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: bob.refresh_token, client_id: CLIENT_ID }) })
    const closed = await client.closed
    expect(closed?.code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect(closed?.reason).toMatch(/revoked/)
    expect(Date.now() - started).toBeLessThan(1000)
    await removal
    expect((await eventsOf(client.tunnelId)).at(-1)).toMatchObject({ type: 'tunnel.close', detail: { close_code: TUNNEL_CLOSE.SESSION_REVOKED } })
  })

  it.each([
    ['an unknown record type', Buffer.from([9, 0, 0, 0])],
    ['a control record longer than 125 bytes', Buffer.concat([Buffer.from([RECORD.PING, 0, 0, 200]), Buffer.alloc(200)])],
  ])('closes a client that breaks the format (%s) with 1002, carries nothing of it, and audits why', async (_what, bad) => {
    const client = await open('echo.example.com')
    const removal = nextRemoval()
    client.socket.write(Buffer.concat([bad, data(Buffer.from('after the bad record'))]))
    expect(await client.closed).toMatchObject({ code: 1002, reason: expect.stringMatching(/^protocol error/) })
    await removal
    expect(client.data().length).toBe(0)
    expect((await eventsOf(client.tunnelId)).at(-1)).toMatchObject({ type: 'tunnel.close', detail: { close_code: 1002, bytes_up: 0 } })
  })

  it('cuts off a client that stops answering pings', async () => {
    const client = await open('echo.example.com', { answerPings: false })
    const removal = nextRemoval()
    const started = Date.now()
    await client.closed
    expect(client.pings).toBeGreaterThan(0)
    expect(Date.now() - started).toBeLessThan(5000)
    await removal
    expect((await eventsOf(client.tunnelId)).at(-1)).toMatchObject({ type: 'tunnel.close', detail: { reason: 'keepalive timeout' } })
  })

  it('stops reading from the client while the target does not read (what it holds stays bounded)', async () => {
    const client = await open('sink.example.com', { answerPings: true })
    await expect.poll(() => sinkSockets.length).toBeGreaterThan(0)
    const target = sinkSockets.at(-1)!
    target.pause()
    const chunk = data(randomBytes(1 << 20))
    for (let i = 0; i < 64; i++) client.socket.write(chunk)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const entry = [...srv.server.context.tunnels.list()].find((tunnel) => tunnel.recordId === client.tunnelId)!
    // 64 MiB offered; the kernel's buffers on both legs hold a few MiB, the bridge itself nothing beyond one read.
    expect(entry.bytes().up).toBeLessThan(32 << 20)
    expect(client.socket.writableLength).toBeGreaterThan(16 << 20)
    client.socket.destroy()
    target.destroy()
  })
})

describe('the raw tunnel through an HTTP CONNECT proxy', () => {
  it('goes through HTTP_PROXY (the upgrade and the bytes cross the proxy) and carries bytes; NO_PROXY keeps it direct', async () => {
    const proxy = await startConnectProxy()
    const home = await makeTempHome()
    try {
      for (const [env, viaProxy] of [[{ HTTP_PROXY: proxy.url, NO_PROXY: '' }, true], [{ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, false]] as const) {
        const before = proxy.carried()
        const { ctx, close } = testContext({ home, env: { ...env, JITSSH_TUNNEL: 'raw' } })
        const tunnel = await openTunnel(ctx, { tunnelEndpoint: `${srv.url}/v1/tunnel`, host: 'echo.example.com', port: 22, token: alice.access_token }, { handshakeTimeoutMs: 5000 })
        expect(tunnel.transport).toBe('raw')
        const stdin = new PassThrough()
        const stdout = new PassThrough()
        const chunks: Buffer[] = []
        stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
        const running = runTunnel(ctx, tunnel, { host: 'echo.example.com', port: 22 }, { stdin, stdout, keepaliveMs: 30_000, handshakeTimeoutMs: 5000 })
        stdin.write('through the proxy')
        await expect.poll(() => Buffer.concat(chunks).toString()).toBe('through the proxy')
        stdin.end()
        await running
        await close()
        // The upgrade request and the tunnel's bytes went through the proxy, or none of them did.
        expect(proxy.carried() - before > 100, JSON.stringify(env)).toBe(viaProxy)
      }
      expect(proxy.connects).toEqual([new URL(srv.url).host])
    } finally {
      await proxy.close()
      await removeTempHome(home)
    }
  })
})

describe("the CLI's tunnel against the real server", () => {
  it.each([['the raw upgrade (the default)', {}, 'raw'], ['a WebSocket (JITSSH_TUNNEL=websocket)', { JITSSH_TUNNEL: 'websocket' }, undefined]])(
    'carries ssh-sized traffic both ways over %s, and the audit says which transport',
    async (_what, env, transport) => {
      const home = await makeTempHome()
      try {
        const { ctx, close } = testContext({ home, env })
        const tunnel = await openTunnel(ctx, { tunnelEndpoint: `${srv.url}/v1/tunnel`, host: 'echo.example.com', port: 22, token: alice.access_token }, { handshakeTimeoutMs: 5000 })
        const stdin = new PassThrough()
        const stdout = new PassThrough()
        const chunks: Buffer[] = []
        stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
        const payload = randomBytes(3_000_000)
        const running = runTunnel(ctx, tunnel, { host: 'echo.example.com', port: 22 }, { stdin, stdout, keepaliveMs: 30_000, handshakeTimeoutMs: 5000 })
        stdin.write(payload)
        await expect.poll(() => chunks.reduce((sum, chunk) => sum + chunk.length, 0), { timeout: 10_000 }).toBe(payload.length)
        const removal = nextRemoval()
        stdin.end()
        await running
        await close()
        expect(Buffer.concat(chunks).equals(payload)).toBe(true)
        const closed = await removal
        const [opened] = await eventsOf(closed.recordId!)
        expect(opened?.detail.transport).toBe(transport)
      } finally {
        await removeTempHome(home)
      }
    },
  )
})
