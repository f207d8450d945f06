import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough, Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import { isJitsshError } from '../../src/shared/errors.js'
import { openTunnel, runTunnel, type OpenTunnel, type TunnelTarget } from '../../src/client/tunnel/tunnel.js'
import { makeTempHome, removeTempHome, runCli, seedSession, testContext } from '../helpers/cli.js'
import { startConnectProxy } from '../helpers/connect-proxy.js'

const TOKEN = 'test-access-token'
/** These tests are about the WebSocket transport (the stand-in bastion below speaks only WebSocket). */
const WS_ONLY = { JITSSH_TUNNEL: 'websocket' }

function wsOf(tunnel: OpenTunnel): WebSocket {
  if (tunnel.transport !== 'websocket') throw new Error(`expected a WebSocket tunnel, got ${tunnel.transport}`)
  return tunnel.ws
}

interface Bastion {
  url: string
  http: Server
  wss: WebSocketServer
  connections: WebSocket[]
  requests: IncomingMessage[]
  onConnection?: (ws: WebSocket, req: IncomingMessage) => void
  close(): Promise<void>
}

/** A stand-in for the bastion: checks the bearer token, refuses some hosts the way the real one does. */
async function startBastion(options: { autoPong?: boolean } = {}): Promise<Bastion> {
  const http = createHttpServer()
  const wss = new WebSocketServer({ noServer: true, autoPong: options.autoPong ?? true })
  const bastion: Bastion = { url: '', http, wss, connections: [], requests: [], close: async () => undefined }
  http.on('upgrade', (req, socket, head) => {
    bastion.requests.push(req)
    const url = new URL(req.url ?? '/', 'http://x')
    const refuse = (status: number, body: object) => {
      const text = JSON.stringify(body)
      socket.end(`HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`)
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return refuse(401, { error: 'ERR_NOT_LOGGED_IN', message: 'invalid token' })
    if (url.searchParams.get('host') === 'denied.example.com') return refuse(403, { error: 'ERR_POLICY_DENIED', message: 'no rule lets alice reach denied.example.com' })
    if (url.searchParams.get('host') === 'down.example.com') return refuse(502, { error: 'ERR_TARGET_UNREACHABLE', message: 'connect ECONNREFUSED' })
    wss.handleUpgrade(req, socket, head, (ws) => {
      bastion.connections.push(ws)
      bastion.onConnection?.(ws, req)
    })
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  bastion.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  bastion.close = async () => {
    for (const ws of bastion.connections) ws.terminate()
    http.closeAllConnections()
    await new Promise((r) => http.close(r))
  }
  return bastion
}

let home: string
let bastion: Bastion
beforeEach(async () => {
  home = await makeTempHome()
  bastion = await startBastion()
  bastion.onConnection = (ws) => ws.on('message', (data: Buffer) => ws.send(data)) // echo
})
afterEach(async () => {
  await bastion.close()
  await removeTempHome(home)
})

const target = (host = 'vm.example.com', token = TOKEN): TunnelTarget => ({ tunnelEndpoint: `${bastion.url}/v1/tunnel`, host, port: 22, token })

function collect(stream: PassThrough): () => Buffer {
  const chunks: Buffer[] = []
  stream.on('data', (c: Buffer) => chunks.push(c))
  return () => Buffer.concat(chunks)
}

describe('openTunnel', () => {
  it('sends the bearer token and the host and port in the query', async () => {
    const { ctx, close } = testContext({ home, env: WS_ONLY })
    const ws = wsOf(await openTunnel(ctx, { ...target(), port: 2222 }, { handshakeTimeoutMs: 5000 }))
    ws.terminate()
    await close()
    expect(bastion.requests[0]?.url).toBe('/v1/tunnel?host=vm.example.com&port=2222')
  })

  it.each([
    ['vm.example.com', 'bad-token', 'ERR_NOT_LOGGED_IN', /^not logged in$/],
    ['denied.example.com', TOKEN, 'ERR_POLICY_DENIED', /^access to denied\.example\.com:22 denied: no rule lets alice reach denied\.example\.com$/],
    ['down.example.com', TOKEN, 'ERR_TARGET_UNREACHABLE', /^down\.example\.com:22 is unreachable from the jitssh server: connect ECONNREFUSED$/],
  ])('maps a refusal for %s to a one-line error', async (host, token, code, message) => {
    const { ctx, close } = testContext({ home, env: WS_ONLY })
    const error = await openTunnel(ctx, target(host, token), { handshakeTimeoutMs: 5000 }).catch((e: unknown) => e)
    await close()
    expect(isJitsshError(error, code as never)).toBe(true)
    expect((error as Error).message).toMatch(message)
  })

  it('reports an unreachable server as ERR_NETWORK', async () => {
    const { ctx, close } = testContext({ home, env: WS_ONLY })
    await bastion.close()
    const error = await openTunnel(ctx, target(), { handshakeTimeoutMs: 5000 }).catch((e: unknown) => e)
    await close()
    expect(isJitsshError(error, 'ERR_NETWORK')).toBe(true)
    expect((error as Error).message).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/)
  })

  it('goes through an HTTP CONNECT proxy from HTTP_PROXY, and not when NO_PROXY matches', async () => {
    const proxy = await startConnectProxy()
    try {
      const via = testContext({ home, env: { ...WS_ONLY, HTTP_PROXY: proxy.url, NO_PROXY: '' } })
      const ws = wsOf(await openTunnel(via.ctx, target(), { handshakeTimeoutMs: 5000 }))
      const echoed = new Promise<Buffer>((r) => ws.once('message', (d: Buffer) => r(d)))
      ws.resume() // openTunnel hands the socket over paused
      ws.send(Buffer.from('through the proxy'))
      expect((await echoed).toString()).toBe('through the proxy')
      ws.terminate()
      await via.close()
      expect(proxy.connects).toEqual([new URL(bastion.url).host])

      const direct = testContext({ home, env: { ...WS_ONLY, HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } })
      ;wsOf(await openTunnel(direct.ctx, target(), { handshakeTimeoutMs: 5000 })).terminate()
      await direct.close()
      expect(proxy.connects).toHaveLength(1)
    } finally {
      await proxy.close()
    }
  })
})

describe('openTunnel: the raw upgrade first, a WebSocket when something refuses it', () => {
  it('falls back to a WebSocket when the server answers the raw upgrade with a 400 (a WebSocket-only bastion or proxy)', async () => {
    const { ctx, close } = testContext({ home })
    const tunnel = await openTunnel(ctx, target(), { handshakeTimeoutMs: 5000 })
    const ws = wsOf(tunnel)
    const echoed = new Promise<Buffer>((r) => ws.once('message', (d: Buffer) => r(d)))
    ws.resume()
    ws.send(Buffer.from('after the fallback'))
    expect((await echoed).toString()).toBe('after the fallback')
    ws.terminate()
    await close()
    expect(bastion.requests.map((r) => r.headers.upgrade?.toLowerCase())).toEqual(['jitssh-tunnel/1', 'websocket'])
  })

  it("takes a refusal of the raw upgrade that is the server's own (401, 403, 502 with an ERR_ code) as final: no second try", async () => {
    const { ctx, close } = testContext({ home })
    const error = await openTunnel(ctx, target('denied.example.com'), { handshakeTimeoutMs: 5000 }).catch((e: unknown) => e)
    await close()
    expect(isJitsshError(error, 'ERR_POLICY_DENIED')).toBe(true)
    expect(bastion.requests).toHaveLength(1)
  })

  it('never falls back with JITSSH_TUNNEL=raw: one line that says what the server answered and how to allow the fallback', async () => {
    const { ctx, close } = testContext({ home, env: { JITSSH_TUNNEL: 'raw' } })
    const error = await openTunnel(ctx, target(), { handshakeTimeoutMs: 5000 }).catch((e: unknown) => e)
    await close()
    expect(isJitsshError(error, 'ERR_SERVER')).toBe(true)
    expect((error as Error).message).toMatch(/^the jitssh server did not take the raw tunnel to vm\.example\.com:22 \(HTTP 400/)
    expect(bastion.requests).toHaveLength(1)
  })
})

describe('runTunnel', () => {
  async function bridgeWith(stdin: PassThrough, stdout: Writable, keepaliveMs = 30_000) {
    const { ctx, close } = testContext({ home, env: WS_ONLY })
    const ws = wsOf(await openTunnel(ctx, target(), { handshakeTimeoutMs: 5000 }))
    return runTunnel(ctx, { transport: 'websocket', ws }, target(), { stdin, stdout, keepaliveMs, handshakeTimeoutMs: 5000 }).finally(close)
  }

  it('carries bytes both ways intact and ends politely on stdin EOF', async () => {
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const received = collect(stdout)
    const closed = new Promise<number>((resolve) => {
      bastion.onConnection = (ws) => {
        ws.on('message', (data: Buffer) => ws.send(data))
        ws.on('close', (code) => resolve(code))
      }
    })
    const payload = Buffer.alloc(3 * 1024 * 1024)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) % 251
    const done = bridgeWith(stdin, stdout)
    for (let i = 0; i < payload.length; i += 65536) stdin.write(payload.subarray(i, i + 65536))
    // Wait for the echo before EOF: the WebSocket has no half-close.
    while (received().length < payload.length) await new Promise((r) => setTimeout(r, 10))
    stdin.end()
    await done
    expect(received().equals(payload)).toBe(true)
    expect(await closed).toBe(1000)
    expect(stdout.writableEnded).toBe(true)
  })

  it('ends stdout and resolves when the server closes normally; stdin is released', async () => {
    bastion.onConnection = (ws) => {
      ws.send(Buffer.from('SSH-2.0-test\r\n'))
      ws.close(1000)
    }
    const stdin = new PassThrough()
    const stdout = new PassThrough()
    const received = collect(stdout)
    await bridgeWith(stdin, stdout)
    expect(received().toString()).toBe('SSH-2.0-test\r\n')
    expect(stdout.writableEnded).toBe(true)
    expect(stdin.destroyed).toBe(true)
  })

  it.each([
    [4003, 'ERR_POLICY_DENIED'],
    [4001, 'ERR_SESSION_REVOKED'],
    [4502, 'ERR_TARGET_UNREACHABLE'],
  ])('maps close code %i to %s', async (closeCode, errorCode) => {
    bastion.onConnection = (ws) => ws.close(closeCode, 'because')
    const error = await bridgeWith(new PassThrough(), new PassThrough()).catch((e: unknown) => e)
    expect(isJitsshError(error, errorCode as never)).toBe(true)
  })

  it('pauses the WebSocket while stdout is full (backpressure server → ssh)', async () => {
    const total = 48 * 1024 * 1024
    const chunk = Buffer.alloc(256 * 1024, 7)
    let serverWs: WebSocket | undefined
    bastion.onConnection = (ws) => {
      serverWs = ws
      for (let sent = 0; sent < total; sent += chunk.length) ws.send(chunk)
    }
    let releaseStdout: () => void = () => undefined
    const blocked = new Promise<void>((r) => (releaseStdout = r))
    let written = 0
    const stdout = new Writable({
      highWaterMark: 64 * 1024,
      write(data: Buffer, _enc, cb) {
        written += data.length
        blocked.then(() => cb())
      },
    })
    const stdin = new PassThrough()
    const done = bridgeWith(stdin, stdout)
    // While stdout is stuck, the data piles up at the server, not in this process.
    while (serverWs === undefined || serverWs.bufferedAmount < 16 * 1024 * 1024) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 100))
    expect(written).toBeLessThan(4 * 1024 * 1024)
    releaseStdout()
    while (written < total) await new Promise((r) => setTimeout(r, 20))
    expect(written).toBe(total)
    stdin.end()
    await done
  })

  it('pauses stdin while the WebSocket send buffer is full (backpressure ssh → server)', async () => {
    let serverWs: WebSocket | undefined
    let got = 0
    bastion.onConnection = (ws) => {
      serverWs = ws
      ws.pause() // the server stops reading
      ws.on('message', (d: Buffer) => (got += d.length))
    }
    const stdin = new PassThrough({ highWaterMark: 64 * 1024 })
    const stdout = new PassThrough()
    const done = bridgeWith(stdin, stdout)
    while (serverWs === undefined) await new Promise((r) => setTimeout(r, 5))
    const chunk = Buffer.alloc(64 * 1024, 1)
    let offered = 0
    let blocked = false
    // Offer data until stdin stays full: it must, because the bridge paused it.
    while (!blocked && offered < 256 * 1024 * 1024) {
      offered += chunk.length
      if (!stdin.write(chunk)) {
        const drained = new Promise<boolean>((r) => stdin.once('drain', () => r(true)))
        blocked = !(await Promise.race([drained, new Promise<boolean>((r) => setTimeout(() => r(false), 300))]))
      }
    }
    expect(blocked).toBe(true)
    expect(offered).toBeLessThan(64 * 1024 * 1024)
    expect(stdin.isPaused()).toBe(true)
    serverWs!.resume()
    await new Promise<void>((r) => stdin.once('drain', () => r()))
    stdin.end()
    await done
    expect(got).toBeGreaterThanOrEqual(offered)
  })

  it('gives up with ERR_NETWORK when keepalive pings go unanswered', async () => {
    await bastion.close()
    bastion = await startBastion({ autoPong: false })
    const error = await bridgeWith(new PassThrough(), new PassThrough(), 100).catch((e: unknown) => e)
    expect(isJitsshError(error, 'ERR_NETWORK')).toBe(true)
    expect((error as Error).message).toMatch(/keepalive/)
  })
})

describe('jitssh ssh (in-process, seeded session)', () => {
  const seed = (server: string, token: string) => seedSession(home, server, { accessToken: token })

  it('bridges stdin/stdout; stdout carries the SSH bytes only', async () => {
    await seed(bastion.url, TOKEN)
    bastion.onConnection = (ws) => ws.on('message', (d: Buffer) => {
      ws.send(d)
      ws.close(1000)
    })
    const stdin = new PassThrough()
    stdin.write('SSH-2.0-client\r\n')
    const r = await runCli(['ssh', '--hostname', 'VM.example.com', '--port', '22'], { home, env: WS_ONLY, stdin })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('SSH-2.0-client\r\n')
    expect(r.stderr).toBe('')
    expect(bastion.requests[0]?.url).toBe('/v1/tunnel?host=vm.example.com&port=22')
  })

  it.each([
    ['denied.example.com', TOKEN, 1, /^jitssh: access to denied\.example\.com:22 denied: no rule lets alice/],
    ['down.example.com', TOKEN, 1, /^jitssh: down\.example\.com:22 is unreachable from the jitssh server/],
  ])('%s: one line on stderr, nothing on stdout', async (host, token, code, line) => {
    await seed(bastion.url, token)
    const r = await runCli(['ssh', '--hostname', host], { home })
    expect(r.code).toBe(code)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(line)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('a refused token with no session to refresh: exit 4, "... has ended ... jitssh login"', async () => {
    // The seed names a credentials file that has no session in it: a login that vanished, so an ended session.
    await seed(bastion.url, 'stale-token')
    const r = await runCli(['ssh', '--hostname', 'vm.example.com'], { home })
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^jitssh: your session at .* has ended \(the stored login is gone from the credentials file\).*run: jitssh login/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('a refused token is refreshed once and the tunnel opens with the new one', async () => {
    await seedSession(home, bastion.url, { accessToken: 'stale-token', refreshToken: 'rt-1' })
    const refreshed: string[] = []
    bastion.http.on('request', (req: IncomingMessage, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c))
      req.on('end', () => {
        refreshed.push(new URLSearchParams(body).get('refresh_token') ?? '')
        const tokens = { access_token: TOKEN, token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-2', session_expires_at: new Date(Date.now() + 3600_000).toISOString() }
        res.writeHead(req.url === '/token' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(tokens))
      })
    })
    bastion.onConnection = (ws) => ws.on('message', (d: Buffer) => {
      ws.send(d)
      ws.close(1000)
    })
    const stdin = new PassThrough()
    stdin.write('SSH-2.0-client\r\n')
    const r = await runCli(['ssh', '--hostname', 'vm.example.com'], { home, env: WS_ONLY, stdin })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('SSH-2.0-client\r\n')
    expect(refreshed).toEqual(['rt-1'])
    expect(bastion.requests.map((req) => req.headers.authorization)).toEqual(['Bearer stale-token', `Bearer ${TOKEN}`])
  })

  it('server unreachable: exit 1 and says so', async () => {
    await seed(bastion.url, TOKEN)
    await bastion.close()
    const r = await runCli(['ssh', '--hostname', 'vm.example.com'], { home })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^jitssh: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/)
  })

  it('refuses a bad --port with exit 2', async () => {
    const r = await runCli(['ssh', '--hostname', 'vm.example.com', '--port', '99999'], { home })
    expect(r.code).toBe(2)
  })
})
