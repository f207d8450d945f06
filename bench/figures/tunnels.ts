/**
 * Figure 5: many concurrent tunnels through one jitssh-server process, and figure 6: time from an admin's
 * revoke to the tunnel closed at the client.
 *
 * The tunnels are what `jitssh ssh` opens (a WebSocket to /v1/tunnel with an access token, no masking key,
 * no compression), to a TCP echo server in this process (an sshd would cut idle unauthenticated
 * connections at MaxStartups). A tunnel counts when bytes sent through it come back, once right after it
 * opens and once more while all of them are open.
 */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import WebSocket from 'ws'
import { loginWithPassword } from '../../test/helpers/server.js'
import { fmt, median, nowMs } from '../stats.js'
import type { Row } from '../report.js'
import type { ServerProcess } from '../server-process.js'

export const TUNNEL_BUDGET = 1000
export const REVOKE_BUDGET_MS = 1000
export const ECHO_HOST = 'echo.example.com'

export interface EchoServer {
  port: number
  connections: number
  close(): Promise<void>
}

export async function startEchoServer(): Promise<EchoServer> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('data', (data) => socket.write(data))
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
  })
  server.maxConnections = 100_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('echo server has no port')
  return {
    port: address.port,
    get connections() {
      return sockets.size
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    },
  }
}

/** The soft limit on open files of this process (node raises it to the hard limit at start). */
export function openFilesLimit(): string {
  return /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 'unknown'
}

function tunnelUrl(server: ServerProcess): string {
  return `${server.url.replace(/^http/, 'ws')}/v1/tunnel?host=${ECHO_HOST}&port=22`
}

function openTunnel(server: ServerProcess, token: string, timeoutMs = 30_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(tunnelUrl(server), {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      generateMask: (mask: Buffer) => void mask.fill(0),
      handshakeTimeout: timeoutMs,
    })
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_request, response) => {
      ws.terminate()
      reject(new Error(`HTTP ${response.statusCode}`))
    })
    ws.once('error', (error) => reject(error))
  })
}

/** Sends a few bytes and waits for them to come back. */
function roundTrip(ws: WebSocket, payload: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = ''
    const timer = setTimeout(() => done(new Error('no echo')), timeoutMs)
    const onMessage = (data: Buffer) => {
      received += data.toString()
      if (received.length >= payload.length) done(received === payload ? undefined : new Error('wrong echo'))
    }
    const onClose = () => done(new Error('closed'))
    const done = (error?: Error) => {
      clearTimeout(timer)
      ws.off('message', onMessage)
      ws.off('close', onClose)
      if (error) reject(error)
      else resolve()
    }
    ws.on('message', onMessage)
    ws.once('close', onClose)
    ws.send(Buffer.from(payload), { binary: true })
  })
}

async function mapLimit<T, R>(items: T[], limit: number, run: (item: T) => Promise<R>): Promise<Array<PromiseSettledResult<R>>> {
  const results: Array<PromiseSettledResult<R>> = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++
        try {
          results[index] = { status: 'fulfilled', value: await run(items[index]!) }
        } catch (reason) {
          results[index] = { status: 'rejected', reason }
        }
      }
    }),
  )
  return results
}

/** The server's live tunnels, from /metrics (the bench runs it with metrics on; /healthz says status only). */
async function liveTunnels(server: ServerProcess): Promise<number> {
  const response = await fetch(`${server.url}/metrics`)
  const match = /^jitssh_tunnels_live (\d+)$/m.exec(await response.text())
  if (!match) throw new Error(`no jitssh_tunnels_live in ${server.url}/metrics (${response.status})`)
  return Number(match[1])
}

export async function benchTunnels(server: ServerProcess, echo: EchoServer, count: number): Promise<Row> {
  const session = await loginWithPassword(server.url)
  // Warm the server (JIT, first connections) with a handful before measuring memory from here.
  const warm = await Promise.all(Array.from({ length: 10 }, () => openTunnel(server, session.access_token)))
  await Promise.all(warm.map((ws, i) => roundTrip(ws, `warm-${i}`)))
  await Promise.all(warm.map((ws) => (ws.close(1000), once(ws, 'close'))))
  const before = server.memory()
  const cpuBefore = server.cpuSeconds()

  const start = nowMs()
  const opened = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    64,
    async (i) => {
      const ws = await openTunnel(server, session.access_token)
      ws.on('error', () => undefined)
      await roundTrip(ws, `hello-${i}`)
      return ws
    },
  )
  const openSeconds = (nowMs() - start) / 1000
  const live = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failures = opened.flatMap((result) => (result.status === 'rejected' ? [String((result.reason as Error).message ?? result.reason)] : []))
  // All open at once: each one carries bytes both ways again.
  const held = await Promise.allSettled(live.map((ws, i) => roundTrip(ws, `still-here-${i}`)))
  const heldOk = held.filter((result) => result.status === 'fulfilled').length
  const serverSees = await liveTunnels(server)
  const targetSees = echo.connections
  const during = server.memory()
  const cpu = server.cpuSeconds() - cpuBefore

  await Promise.all(live.map((ws) => (ws.readyState === WebSocket.OPEN ? (ws.close(1000), once(ws, 'close')) : undefined)))
  const closeDeadline = Date.now() + 15_000
  while ((await liveTunnels(server)) > 0 && Date.now() < closeDeadline) await new Promise((resolve) => setTimeout(resolve, 100))
  const left = await liveTunnels(server)

  const distinctFailures = [...new Set(failures)].slice(0, 3).join('; ')
  return {
    id: '5',
    what: `${count} concurrent tunnels through one server process`,
    jitssh: `${heldOk}/${count} open and carrying bytes at once; server peak RSS ${fmt(during.peakMiB, 0)} MiB`,
    baselines: `server RSS before ${fmt(before.rssMiB, 0)} MiB (≈ ${fmt(((during.peakMiB - before.rssMiB) * 1024) / Math.max(1, heldOk), 0)} KiB per tunnel)`,
    ratio: `${heldOk}/${count}`,
    budget: `${TUNNEL_BUDGET} succeed`,
    pass: heldOk >= TUNNEL_BUDGET,
    notes: `one session for all; opened ${live.length} (64 at a time) in ${fmt(openSeconds, 1)} s, server CPU ${fmt((cpu * 1e3) / Math.max(1, live.length), 2)} ms per tunnel (open + 2 round trips); server counted ${serverSees} live, the target ${targetSees} connections; ${left} left 15 s after closing${failures.length ? `; failures: ${distinctFailures}` : ''}; open-files limit ${openFilesLimit()} per process`,
  }
}

/**
 * Figure 6: alice has a tunnel open carrying bytes; an admin (bob) POSTs /v1/admin/revoke {session_id};
 * measured from sending that request to the tunnel's close at the client. A fresh session each run.
 */
export async function benchRevoke(server: ServerProcess, runs: number): Promise<Row> {
  const admin = await loginWithPassword(server.url, 'bob')
  const closedMs: number[] = []
  const answeredMs: number[] = []
  const codes = new Set<number>()
  for (let run = 0; run < runs; run++) {
    const user = await loginWithPassword(server.url)
    const ws = await openTunnel(server, user.access_token)
    await roundTrip(ws, `before-revoke-${run}`)
    const closed = once(ws, 'close') as Promise<[number, Buffer]>
    const start = nowMs()
    const response = await fetch(`${server.url}/v1/admin/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: user.session_id, reason: 'bench' }),
    })
    const answered = nowMs() - start
    if (response.status !== 200) throw new Error(`revoke: HTTP ${response.status} ${await response.text()}`)
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('tunnel still open 10 s after revoke')), 10_000).unref())
    const [code] = await Promise.race([closed, timeout])
    closedMs.push(nowMs() - start)
    answeredMs.push(answered)
    codes.add(code)
  }
  const closed = median(closedMs)
  return {
    id: '6',
    what: 'revoke (admin API, session) → live tunnel closed at the client',
    jitssh: `${fmt(closed, 1)} ms (max ${fmt(Math.max(...closedMs), 1)})`,
    baselines: `revoke request answered in ${fmt(median(answeredMs), 1)} ms`,
    ratio: '—',
    budget: `≤ ${REVOKE_BUDGET_MS} ms (DESIGN: Bastion)`,
    pass: Math.max(...closedMs) <= REVOKE_BUDGET_MS,
    notes: `median of ${runs} runs, a fresh session each; close codes seen: ${[...codes].join(', ')}; one replica (SQLite)`,
  }
}
