// The WebSocket bastion GET /v1/tunnel of jitssh-server against local TCP targets: every check happens
// before the upgrade (plain 400/401/403/502 JSON), bytes flow both ways with backpressure, keepalive cuts
// off a silent peer, a revoked session closes its tunnels with 4001, and open/close are audited.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CLIENT_ID, TUNNEL_CLOSE } from '../../src/shared/protocol.js'
import type { LiveTunnel } from '../../src/server/bastion/tunnel-registry.js'
import type { AuditDraft } from '../../src/server/store/store.js'
import { listenOnLoopback, loginWithPassword, startTestServer, withRole, type TestServer } from '../helpers/server.js'

let srv: TestServer
let alice: Awaited<ReturnType<typeof loginWithPassword>>
let echo: Server
let sink: Server
const sinkSockets: Socket[] = []
let closedPort: number

const listen = listenOnLoopback

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  sink = createServer((socket) => void sinkSockets.push(socket))
  const echoPort = await listen(echo)
  const sinkPort = await listen(sink)
  const gone = createServer()
  closedPort = await listen(gone)
  gone.close()
  srv = await startTestServer({
    targets: { 'echo.example.com': `127.0.0.1:${echoPort}`, 'sink.example.com': `127.0.0.1:${sinkPort}`, 'down.example.com': `127.0.0.1:${closedPort}` },
    config: { bastion: { keepalive: '1s', connect_timeout: '2s' } },
  })
  alice = await loginWithPassword(srv.url)
})
afterAll(async () => {
  await srv?.stop()
  echo?.close()
  sink?.close()
})

function tunnelUrl(query: string): string {
  return `${srv.url.replace(/^http/, 'ws')}/v1/tunnel?${query}`
}

/** Opens a tunnel; resolves when open, or with the HTTP refusal (status and JSON body). */
function openTunnel(query: string, token: string | null = alice.access_token, options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket } | { status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(tunnelUrl(query), { headers: token ? { authorization: `Bearer ${token}` } : {}, ...options })
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_request, response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }))
    })
    ws.once('error', reject)
  })
}

async function open(query: string): Promise<WebSocket> {
  const result = await openTunnel(query)
  if (!('ws' in result)) throw new Error(`tunnel refused: ${JSON.stringify(result)}`)
  result.ws.binaryType = 'nodebuffer'
  return result.ws
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
}

function nextRemoval(): Promise<LiveTunnel> {
  return once(srv.server.context.tunnels, 'removed').then(([tunnel]) => tunnel as LiveTunnel)
}

describe('tunnel refusals happen before the upgrade, as plain HTTP with a JSON reason', () => {
  it.each([
    ['no token', 'host=echo.example.com', null, 401, 'ERR_NOT_LOGGED_IN'],
    ['a bad token', 'host=echo.example.com', 'not.a.jwt', 401, 'ERR_NOT_LOGGED_IN'],
    ['a host no rule grants', 'host=echo.internal', undefined, 403, 'ERR_POLICY_DENIED'],
    ['a host that is not a target', 'host=other.example.com', undefined, 403, 'ERR_FORBIDDEN'],
    ['a port that is not open', 'host=echo.example.com&port=2222', undefined, 403, 'ERR_FORBIDDEN'],
    ['a malformed port', 'host=echo.example.com&port=22x', undefined, 400, 'ERR_BAD_REQUEST'],
    ['a hostile host', `host=${encodeURIComponent('echo.example.com\nx')}`, undefined, 400, 'ERR_INVALID_HOSTNAME'],
    ['no host', '', undefined, 400, 'ERR_INVALID_HOSTNAME'],
    ['an unreachable target', 'host=down.example.com', undefined, 502, 'ERR_TARGET_UNREACHABLE'],
  ])('refuses %s', async (_name, query, token, status, error) => {
    const result = await openTunnel(query, token === undefined ? alice.access_token : token)
    expect(result).toMatchObject({ status, body: { error } })
    expect(typeof (result as unknown as { body: { message: string } }).body.message).toBe('string')
  })

  it('says which port and host', async () => {
    expect(await openTunnel('host=echo.example.com&port=2222')).toMatchObject({ body: { message: 'port 2222 is not open for echo.example.com' } })
    expect(await openTunnel('host=down.example.com')).toMatchObject({ body: { message: 'cannot reach down.example.com: connection refused' } })
  })

  it('answers a plain GET (no upgrade) with 400', async () => {
    const response = await fetch(`${srv.url}/v1/tunnel?host=echo.example.com`, { headers: { authorization: `Bearer ${alice.access_token}` } })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error: 'ERR_BAD_REQUEST' })
  })
})

describe('an open tunnel', () => {
  it('accepts port 22, no port, or the configured port, and carries bytes both ways; close is audited with byte counts', async () => {
    const echoPort = (echo.address() as { port: number }).port
    for (const query of ['host=ECHO.example.com', 'host=echo.example.com&port=22', `host=echo.example.com&port=${echoPort}`]) {
      const ws = await open(query)
      const payload = randomBytes(100_000)
      const received: Buffer[] = []
      let total = 0
      const done = new Promise<void>((resolve) =>
        ws.on('message', (data: Buffer) => {
          received.push(data)
          total += data.length
          if (total >= payload.length) resolve()
        }),
      )
      ws.send(payload)
      await done
      expect(Buffer.concat(received).equals(payload)).toBe(true)
      const removal = nextRemoval()
      ws.close(1000)
      expect((await removal).host).toBe('echo.example.com')
    }
    const events = await srv.server.store.audit.read(0, 10_000)
    const closes = events.filter((event) => event.type === 'tunnel.close')
    expect(closes.at(-1)).toMatchObject({ user: 'alice@example.com', host: 'echo.example.com', sessionId: alice.session_id, detail: { bytes_up: 100_000, bytes_down: 100_000, close_code: 1000 } })
    expect(typeof closes.at(-1)!.detail.duration_ms).toBe('number')
    expect(events.filter((event) => event.type === 'tunnel.open').at(-1)).toMatchObject({ detail: { target: `127.0.0.1:${echoPort}` } })
  })

  it('closes with 4000 when the target closes the connection', async () => {
    const ws = await open('host=sink.example.com')
    const target = sinkSockets.at(-1)!
    const whenClosed = closed(ws)
    target.end()
    expect((await whenClosed).code).toBe(TUNNEL_CLOSE.TARGET_CLOSED)
  })

  it('closes with 4001 at once when the session is revoked', async () => {
    const bob = await loginWithPassword(srv.url)
    const result = await openTunnel('host=echo.example.com', bob.access_token)
    if (!('ws' in result)) throw new Error('no tunnel')
    const whenClosed = closed(result.ws)
    const started = Date.now()
    await fetch(`${srv.url}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: bob.refresh_token, client_id: CLIENT_ID }),
    })
    expect((await whenClosed).code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('closes within about a second when the session is revoked elsewhere (another replica)', async () => {
    const other = await loginWithPassword(srv.url)
    const result = await openTunnel('host=echo.example.com', other.access_token)
    if (!('ws' in result)) throw new Error('no tunnel')
    const whenClosed = closed(result.ws)
    const started = Date.now()
    await srv.server.store.sessions.revoke(other.session_id, Date.now(), 'revoked by another replica')
    expect((await whenClosed).code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('cuts off a peer that stops answering pings', async () => {
    const result = await openTunnel('host=echo.example.com', alice.access_token, { autoPong: false })
    if (!('ws' in result)) throw new Error('no tunnel')
    const started = Date.now()
    await closed(result.ws)
    expect(Date.now() - started).toBeLessThan(5000)
  })
})

describe('backpressure', () => {
  it('stops reading from the target while the client does not read, and delivers everything in order afterwards', async () => {
    const ws = await open('host=sink.example.com')
    const target = sinkSockets.at(-1)!
    const rawClient = (ws as unknown as { _socket: Socket })._socket
    rawClient.pause()
    const hash = createHash('sha256')
    const chunk = randomBytes(64 * 1024)
    let written = 0
    // Write until the target's socket stays full for a while: the bastion stopped reading it.
    for (;;) {
      hash.update(chunk)
      written += chunk.length
      if (target.write(chunk)) continue
      const drained = await Promise.race([once(target, 'drain').then(() => true), new Promise((resolve) => setTimeout(resolve, 750, false))])
      if (!drained) break
      if (written > 256 * 1024 * 1024) throw new Error('the bastion kept reading: no backpressure')
    }
    expect(written).toBeLessThan(64 * 1024 * 1024)

    const received = createHash('sha256')
    let total = 0
    const done = new Promise<void>((resolve) =>
      ws.on('message', (data: Buffer) => {
        received.update(data)
        total += data.length
        if (total === written) resolve()
      }),
    )
    rawClient.resume()
    await done
    expect(received.digest('hex')).toBe(hash.digest('hex'))
    ws.close()
  })

  it('stops reading from the client while the target does not read', async () => {
    const ws = await open('host=sink.example.com')
    const target = sinkSockets.at(-1)!
    target.pause()
    const chunk = randomBytes(256 * 1024)
    let sent = 0
    // Keep sending until our own send buffer stays full: the bastion stopped reading the WebSocket.
    for (;;) {
      ws.send(chunk)
      sent += chunk.length
      if (ws.bufferedAmount < 8 * 1024 * 1024) {
        if (sent > 512 * 1024 * 1024) throw new Error('the bastion kept reading: no backpressure')
        await new Promise((resolve) => setImmediate(resolve))
        continue
      }
      const before = ws.bufferedAmount
      await new Promise((resolve) => setTimeout(resolve, 500))
      if (ws.bufferedAmount >= before) break
    }
    expect(sent).toBeLessThan(256 * 1024 * 1024)
    let total = 0
    const done = new Promise<void>((resolve) =>
      target.on('data', (data: Buffer) => {
        total += data.length
        if (total === sent) resolve()
      }),
    )
    target.resume()
    await done
    ws.close()
  })
})

describe('while tunnel.open is being written to the audit log', () => {
  // A server whose audit store the test can hold or fail, one tunnel.open write at a time.
  let gated: TestServer
  let gatedAlice: Awaited<ReturnType<typeof loginWithPassword>>
  // A target that resets each connection when the test says so.
  const resetter = createServer()
  const resetterSockets: Socket[] = []
  resetter.on('connection', (socket) => void resetterSockets.push(socket))
  let hold: ((draft: AuditDraft) => Promise<void>) | undefined
  const closes: AuditDraft[] = []
  let onClose: ((draft: AuditDraft) => void) | undefined
  beforeAll(async () => {
    gated = await startTestServer({
      targets: { 'sink.example.com': `127.0.0.1:${(sink.address() as { port: number }).port}`, 'reset.example.com': `127.0.0.1:${await listen(resetter)}` },
      // A tunnel's open and close events are written with its live row, through the replicas role.
      wrapStore: (store) =>
        withRole(store, 'replicas', {
          now: () => store.replicas.now(),
          register: (row) => store.replicas.register(row),
          heartbeat: (id, now, bytes) => store.replicas.heartbeat(id, now, bytes),
          stop: (id, now) => store.replicas.stop(id, now),
          unreaped: (except) => store.replicas.unreaped(except),
          reap: (id, by, now, beats, audit, seal) => store.replicas.reap(id, by, now, beats, audit, seal),
          liveTunnelsBySession: (now, beats) => store.replicas.liveTunnelsBySession(now, beats),
          openTunnel: async (row, draft, now, seal) => {
            await hold?.(draft)
            return store.replicas.openTunnel(row, draft, now, seal)
          },
          closeTunnel: async (id, draft, now, seal) => {
            const record = await store.replicas.closeTunnel(id, draft, now, seal)
            closes.push(draft)
            onClose?.(draft)
            return record
          },
        }),
    })
    gatedAlice = await loginWithPassword(gated.url)
  })
  afterAll(async () => {
    await gated?.stop()
    resetter.close()
  })
  afterEach(() => {
    hold = undefined
    onClose = undefined
    closes.length = 0
  })

  /** Holds the next `tunnel.open` audit write until release(), then writes it (or fails it). */
  function holdTunnelOpenAudit(outcome: 'ok' | 'fail' = 'ok'): { written: Promise<void>; release(): void } {
    let release!: () => void
    let reached!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const written = new Promise<void>((resolve) => (reached = resolve))
    hold = async () => {
      hold = undefined
      reached()
      await gate
      if (outcome === 'fail') throw new Error('disk full')
    }
    return { written, release }
  }

  const openGated = async (host = 'sink.example.com'): Promise<WebSocket> => {
    const ws = new WebSocket(`${gated.url.replace(/^http/, 'ws')}/v1/tunnel?host=${host}`, { headers: { authorization: `Bearer ${gatedAlice.access_token}` } })
    await once(ws, 'open')
    return ws
  }

  it('a client that leaves meanwhile leaves no target connection and no live tunnel behind', async () => {
    const held = holdTunnelOpenAudit()
    const closeWritten = new Promise<AuditDraft>((resolve) => (onClose = resolve))
    const targetConnected = once(sink, 'connection').then(([socket]) => socket as Socket)
    const ws = await openGated()
    await held.written
    const target = await targetConnected
    const targetClosed = once(target, 'close')
    ws.terminate()
    await once(ws, 'close')
    held.release()
    await targetClosed
    expect(await closeWritten).toMatchObject({ type: 'tunnel.close', host: 'sink.example.com', detail: { reason: 'the client left before the tunnel started' } })
    expect(gated.server.context.tunnels.size).toBe(0)
  })

  it('an audit write that fails closes the tunnel (1011) instead of carrying an unrecorded session', async () => {
    const held = holdTunnelOpenAudit('fail')
    const targetConnected = once(sink, 'connection').then(([socket]) => socket as Socket)
    const ws = await openGated()
    const wsClosed = closed(ws)
    const target = await targetConnected
    const targetClosed = once(target, 'close')
    await held.written
    held.release()
    expect(await wsClosed).toEqual({ code: 1011, reason: 'the audit log is unavailable' })
    await targetClosed
    expect(gated.server.context.tunnels.size).toBe(0)
    expect(closes).toEqual([])
  })

  it('a target that resets the connection meanwhile ends that tunnel (4000), audited, and the server keeps serving', async () => {
    const held = holdTunnelOpenAudit()
    const closeWritten = new Promise<AuditDraft>((resolve) => (onClose = resolve))
    const ws = await openGated('reset.example.com')
    const wsClosed = closed(ws)
    await held.written
    const target = resetterSockets.at(-1)!
    target.resetAndDestroy()
    await once(target, 'close')
    // The reset reaches the bastion's socket in this process; a round trip makes sure it was handled.
    expect((await fetch(`${gated.url}/healthz`)).status).toBe(200)
    held.release()
    expect(await wsClosed).toEqual({ code: TUNNEL_CLOSE.TARGET_CLOSED, reason: 'target closed the connection' })
    expect(await closeWritten).toMatchObject({ type: 'tunnel.close', host: 'reset.example.com', detail: { reason: 'target closed the connection' } })
    expect(gated.server.context.tunnels.size).toBe(0)
    expect((await fetch(`${gated.url}/healthz`)).status).toBe(200)
  })
})
