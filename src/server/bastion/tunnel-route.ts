import { connect, type OnReadOpts, type Socket } from 'node:net'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { JitsshError } from '../../shared/errors.js'
import { TUNNEL_CLOSE } from '../../shared/protocol.js'
import { closeRecord, RAW_TUNNEL_ID_HEADER, RAW_TUNNEL_PROTOCOL } from '../../shared/tunnel-records.js'
import type { TargetAddress } from '../config/types.js'
import type { Uses } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import { requestedHost } from '../http/request-fields.js'
import { policyDetail } from '../policy/access.js'
import { openHostAccess } from './access-check.js'
import { authenticatedBy } from '../identity/service-accounts.js'
import { bridgeWebSocketToTcp } from './tcp-bridge.js'
import { bridgeRawTunnelToTcp } from './raw-bridge.js'
import { AuditedTunnel, type PreparedTunnel } from './tunnel-lifecycle.js'
import { movedToPooledReads, pooledReads } from '../../shared/read-buffers.js'

function connectWithTimeout(target: TargetAddress, timeoutMs: number, host: string, onread?: OnReadOpts): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, noDelay: true, ...(onread ? { onread } : {}) })
    // Nothing is read until the bridge takes over (the target's banner waits in the kernel).
    if (onread) socket.pause()
    const fail = (why: string): void => {
      socket.destroy()
      reject(new JitsshError('ERR_TARGET_UNREACHABLE', `cannot reach ${host}: ${why}`))
    }
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000}s`), timeoutMs)
    const onError = (error: NodeJS.ErrnoException): void => {
      clearTimeout(timer)
      fail(error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? 'connection failed'))
    }
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', onError)
      // From here until the bridge takes over (after tunnel.open is audited) the target may reset: the socket
      // is then destroyed, which open() checks. Without a listener the error would end the whole server.
      socket.on('error', () => undefined)
      resolve(socket)
    })
    socket.once('error', onError)
  })
}

/** Which transport the request asks for: the raw upgrade (`Upgrade: jitssh-tunnel/1`), a WebSocket, or neither. */
export function requestedTransport(headers: IncomingHttpHeaders): 'raw' | 'websocket' | null {
  const upgrade = headers.upgrade
  if (typeof upgrade !== 'string') return null
  const offered = upgrade.toLowerCase().split(',').map((token) => token.trim())
  if (offered.includes(RAW_TUNNEL_PROTOCOL)) return 'raw'
  if (offered.includes('websocket')) return 'websocket'
  return null
}

/** A plain HTTP answer on a socket that fastify no longer owns (the raw upgrade hijacked it), then its end. */
function answerOnSocket(socket: Duplex, status: number, statusText: string, body: Record<string, unknown>): void {
  const json = JSON.stringify(body)
  socket.end(`HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${json}`)
}

/**
 * `GET /v1/tunnel?host=&port=`, upgraded to the raw tunnel (`Upgrade: jitssh-tunnel/1`: plain bytes in records,
 * src/shared/tunnel-records.ts, the default of the CLI) or to a WebSocket (for proxies that let nothing else
 * through). Every check — token, then openHostAccess (session, person, grants, policy, target, port), then the
 * TCP connect — happens before the upgrade, the same for both, so a failure is a plain HTTP 401/403/502 with a
 * JSON body. The raw upgrade also writes `tunnel.open` before its 101; a WebSocket's is written after the upgrade,
 * before any byte is carried.
 */
export type TunnelRouteDeps = Uses<'accessTokens' | 'sessions' | 'audit' | 'config' | 'now' | 'replica' | 'requests' | 'tunnels' | 'unauthenticated'>

export function registerTunnelRoute(app: FastifyInstance, ctx: TunnelRouteDeps): void {
  const prepared = new WeakMap<FastifyRequest, PreparedTunnel>()

  // Bytes a client sent right behind its raw upgrade request (ours waits for the 101) go back into the socket,
  // to be read as the tunnel's first bytes.
  app.server.prependListener('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (head.length > 0 && requestedTransport(request.headers) === 'raw') socket.unshift(head)
  })

  async function prepare(request: FastifyRequest<{ Querystring: { host?: unknown; port?: unknown } }>, reply: FastifyReply): Promise<void> {
    let auth: Authenticated | undefined
    let host: string | null = null
    let tunnel: PreparedTunnel
    const transport = requestedTransport(request.headers)
    try {
      if (!(request as { ws?: boolean }).ws || transport === null) throw new JitsshError('ERR_BAD_REQUEST', `this endpoint needs an upgrade: ${RAW_TUNNEL_PROTOCOL} or websocket`)
      auth = await authenticateBearer(ctx, request)
      host = requestedHost(request.query.host)
      const { target, decision: grant } = await openHostAccess(ctx, auth.session, host, { port: request.query.port, sourceIp: request.ip })
      const startedAt = Date.now()
      // A raw tunnel reads the target into reused buffers (read-buffers.ts); a WebSocket's bridge reads 'data'.
      const reads = transport === 'raw' ? pooledReads() : undefined
      const tcp = await connectWithTimeout(target, ctx.config.bastion.connectTimeoutMs, host, reads?.onread)
      tunnel = { auth, host, target, tcp, startedAt, grantId: grant.grantId, ...(reads ? { reads: reads.sink } : {}) }
    } catch (error) {
      if (error instanceof JitsshError && auth === undefined) ctx.unauthenticated.refused('tunnel', request, error)
      else if (error instanceof JitsshError) {
        await ctx.audit.record({
          type: 'access.denied', outcome: error.code === 'ERR_TARGET_UNREACHABLE' ? 'error' : 'denied',
          user: auth?.session.identity.email ?? null, sessionId: auth?.session.id ?? null, host,
          detail: { action: 'tunnel', code: error.code, reason: error.message, ip: request.ip, ...policyDetail(error), ...authenticatedBy(auth?.session.auth ?? null) },
        })
      }
      throw error
    }
    if (transport === 'raw') {
      // Fastify answers nothing more: the socket is the tunnel's from here.
      reply.hijack()
      await openRaw(request, tunnel).catch((error: unknown) => {
        request.log.error({ err: error }, 'raw tunnel failed to start')
        tunnel.tcp.destroy()
        request.raw.socket.destroy()
      })
      return
    }
    // If the WebSocket upgrade never completes (bad handshake, client gone), do not keep the target connection.
    request.raw.socket.once('close', () => {
      if (prepared.has(request)) tunnel.tcp.destroy()
    })
    prepared.set(request, tunnel)
  }

  /** The raw upgrade: tunnel.open written, then the 101, then records both ways (raw-bridge.ts). */
  async function openRaw(request: FastifyRequest, tunnel: PreparedTunnel): Promise<void> {
    const socket = request.raw.socket
    const { tcp } = tunnel
    socket.setTimeout(0)
    socket.setNoDelay(true)
    const audited = new AuditedTunnel(ctx, request, tunnel)
    if (!(await audited.opened('raw'))) {
      tcp.destroy()
      return answerOnSocket(socket, 500, 'Internal Server Error', { error: 'ERR_SERVER', message: 'the audit log is unavailable; try again shortly' })
    }
    if (socket.destroyed || !socket.writable) {
      tcp.destroy()
      return audited.closed({ bytes_up: 0, bytes_down: 0, reason: 'the client left before the tunnel started' })
    }
    // The client's reads go into pooled buffers from here (as the target's do), where the socket can move.
    const moved = movedToPooledReads(socket)
    const client = moved?.socket ?? socket
    client.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${RAW_TUNNEL_PROTOCOL}\r\n${RAW_TUNNEL_ID_HEADER}: ${audited.record.id}\r\n\r\n`)
    if (tcp.destroyed) {
      const reason = 'target closed the connection'
      client.end(closeRecord(TUNNEL_CLOSE.TARGET_CLOSED, reason))
      return audited.closed({ bytes_up: 0, bytes_down: 0, reason, close_code: TUNNEL_CLOSE.TARGET_CLOSED })
    }
    audited.register(bridgeRawTunnelToTcp(client, tcp, {
      keepaliveMs: ctx.config.bastion.keepaliveMs,
      onClose: audited.onBridgeClosed(),
      ...(tunnel.reads ? { tcpReads: tunnel.reads } : {}),
      ...(moved ? { clientReads: { sink: moved.sink, pending: moved.pending } } : {}),
    }))
  }

  async function open(ws: WebSocket, request: FastifyRequest): Promise<void> {
    const tunnel = prepared.get(request)
    prepared.delete(request)
    if (!tunnel) return ws.close(1011, 'tunnel was not prepared')
    const { tcp } = tunnel
    const audited = new AuditedTunnel(ctx, request, tunnel)
    // The client may send at once (ssh's banner): hold its messages while the open is audited (a network
    // round trip with PostgreSQL), and hand them to the bridge in order once it is attached.
    ws.pause()
    const early: Array<[Buffer, boolean]> = []
    const hold = (data: Buffer, isBinary: boolean): void => void early.push([data, isBinary])
    ws.on('message', hold)
    const recorded = await audited.opened('websocket')
    ws.off('message', hold)
    // No session is carried unrecorded, none to a client that left while the open was written, and no
    // destroyed target socket is bridged (the target reset the connection meanwhile).
    if (!recorded || ws.readyState !== ws.OPEN || tcp.destroyed) {
      const targetGone = recorded && ws.readyState === ws.OPEN
      tcp.destroy()
      ws.resume() // a paused socket would never read the client's answer to our close frame
      if (!recorded) return ws.close(1011, 'the audit log is unavailable')
      const reason = targetGone ? 'target closed the connection' : 'the client left before the tunnel started'
      if (targetGone) ws.close(TUNNEL_CLOSE.TARGET_CLOSED, reason)
      await audited.closed({ bytes_up: 0, bytes_down: 0, reason, ...(targetGone ? { close_code: TUNNEL_CLOSE.TARGET_CLOSED } : {}) })
      return
    }
    audited.register(bridgeWebSocketToTcp(ws, tcp, { keepaliveMs: ctx.config.bastion.keepaliveMs, onClose: audited.onBridgeClosed() }))
    ws.resume() // the socket's next data comes on a later tick, after the held messages
    for (const [data, isBinary] of early) ws.emit('message', data, isBinary)
  }

  app.route<{ Querystring: { host?: unknown; port?: unknown } }>({
    method: 'GET',
    url: '/v1/tunnel',
    config: { rateLimit: { max: ctx.config.rateLimits.tunnelPerMinute, timeWindow: 60_000 } },
    preHandler: prepare,
    handler: async () => {
      throw new JitsshError('ERR_BAD_REQUEST', `this endpoint needs an upgrade: ${RAW_TUNNEL_PROTOCOL} or websocket`)
    },
    wsHandler: open,
  })
}
