// What an anonymous client learns from /healthz, and what it can hold open: /healthz answers its status
// only (it used to give the number of live tunnels); a client that sends half a request head is cut off
// within the header timeout (it used to be held 60-90 s); and one address cannot hold more than
// connections.per_ip connections, WebSocket tunnels included, while another address is still served.
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { loginWithPassword, listenOnLoopback, startTestServer, type TestServer } from '../helpers/server.js'

const PER_IP = 20
let srv: TestServer
let echo: Server
let port: number

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  const echoPort = await listenOnLoopback(echo)
  srv = await startTestServer({
    targets: { 'echo.example.com': `127.0.0.1:${echoPort}` },
    config: { connections: { headers_timeout: '1s', per_ip: PER_IP }, metrics: { enabled: true } },
  })
  port = Number(new URL(srv.url).port)
})
afterAll(async () => {
  await srv?.stop()
  echo?.close()
})

/** A TCP connection to the server from `localAddress`, once connected. */
async function tcpFrom(localAddress: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  await once(socket, 'connect')
  return socket
}

/** Sends a whole GET /healthz on `socket`; resolves with everything the server sent before closing. */
async function healthzOn(socket: Socket): Promise<string> {
  let received = ''
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
  socket.on('error', () => undefined) // a refused connection may be reset
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
  await once(socket, 'close')
  return received
}

describe('/healthz', () => {
  it('answers its status and nothing about usage', async () => {
    const alice = await loginWithPassword(srv.url)
    const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=echo.example.com`, { headers: { authorization: `Bearer ${alice.access_token}` } })
    await once(ws, 'open')
    const response = await fetch(`${srv.url}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ok' })
    ws.close()
    await once(ws, 'close')
  })
})

describe('connections', () => {
  it('cuts off a client that sends half a request head within the header timeout', async () => {
    const socket = await tcpFrom('127.0.0.1')
    socket.on('error', () => undefined)
    socket.resume()
    const started = performance.now()
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')
    const closed = once(socket, 'close').then(() => performance.now() - started)
    const gaveUp = new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 10_000).unref())
    const outcome = await Promise.race([closed, gaveUp])
    expect(outcome).not.toBe('held')
    console.log(`half a request head: cut off after ${(outcome as number).toFixed(0)} ms (headers_timeout 1s)`)
    expect(outcome as number).toBeLessThan(5_000)
  })

  it(`refuses connection ${PER_IP + 1} from one address, WebSocket tunnels included, while another address is served`, async () => {
    const alice = await loginWithPassword(srv.url)
    const tunnels: WebSocket[] = []
    for (let i = 0; i < 5; i++) {
      const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=echo.example.com`, { headers: { authorization: `Bearer ${alice.access_token}` } })
      await once(ws, 'open')
      tunnels.push(ws)
    }
    const idle: Socket[] = []
    for (let i = 0; i < PER_IP - tunnels.length; i++) idle.push(await tcpFrom('127.0.0.1'))

    expect(await healthzOn(await tcpFrom('127.0.0.1'))).toBe('') // the 21st: closed unanswered
    expect(await healthzOn(await tcpFrom('127.0.0.2'))).toMatch(/^HTTP\/1\.1 200 /)
    for (const ws of tunnels) expect(ws.readyState).toBe(WebSocket.OPEN)

    // A connection that ends frees its place (once the server has seen it close: a few turns of its loop).
    idle.shift()!.end()
    let answer = ''
    for (let attempt = 0; attempt < 50 && answer === ''; attempt++) answer = await healthzOn(await tcpFrom('127.0.0.1'))
    expect(answer).toMatch(/^HTTP\/1\.1 200 /)
    for (const socket of idle) socket.destroy()
    for (const ws of tunnels) ws.close()
    const metrics = await (await fetch(`${srv.url}/metrics`)).text()
    expect(Number(/^jitssh_connections_refused_total (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1)
  })

  it('counts raw tunnels (whose connection the bastion moves to pooled reads) while they are open, and frees their places when they close', async () => {
    const alice = await loginWithPassword(srv.url)
    /** A raw tunnel from 127.0.0.1: the socket once the 101 came, or null when the server closed it unanswered. */
    const rawTunnel = async (): Promise<Socket | null> => {
      const socket = await tcpFrom('127.0.0.1')
      socket.on('error', () => undefined)
      socket.write(`GET /v1/tunnel?host=echo.example.com HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: jitssh-tunnel/1\r\nAuthorization: Bearer ${alice.access_token}\r\n\r\n`)
      const first = await Promise.race([once(socket, 'data').then(([chunk]) => String(chunk)), once(socket, 'close').then(() => '')])
      if (!first.startsWith('HTTP/1.1 101 ')) return socket.destroy(), null
      return socket
    }
    // How many fit next to what this address already holds (the login's keep-alive connections), three times:
    // a tunnel whose place was not given back would make each round smaller.
    const fitted: number[] = []
    for (let round = 0; round < 3; round++) {
      const open: Socket[] = []
      for (let tunnel = await rawTunnel(); tunnel !== null; tunnel = await rawTunnel()) open.push(tunnel)
      fitted.push(open.length)
      for (const socket of open) socket.destroy()
      // Their places come back once the server has seen them close.
      await expect.poll(async () => (await healthzOn(await tcpFrom('127.0.0.1'))).slice(0, 12), { timeout: 5_000 }).toBe('HTTP/1.1 200')
    }
    expect(fitted[0]).toBeGreaterThanOrEqual(PER_IP - 3)
    expect(fitted[0]).toBeLessThanOrEqual(PER_IP)
    expect(new Set(fitted).size, fitted.join(', ')).toBe(1)
  })

  it('does not cap the connections of a TLS proxy in front (every connection is the proxy\'s)', async () => {
    const proxied = await startTestServer({ config: { behind_tls_proxy: true, public_url: 'https://access.example.com', connections: { per_ip: 2 } } })
    try {
      const proxiedPort = Number((proxied.server.app.server.address() as { port: number }).port)
      const held = await Promise.all([0, 1, 2].map(async () => {
        const socket = connect({ host: '127.0.0.1', port: proxiedPort })
        await once(socket, 'connect')
        return socket
      }))
      const fourth = connect({ host: '127.0.0.1', port: proxiedPort })
      await once(fourth, 'connect')
      expect(await healthzOn(fourth)).toMatch(/^HTTP\/1\.1 200 /)
      for (const socket of held) socket.destroy()
    } finally {
      await proxied.stop()
    }
  })
})
