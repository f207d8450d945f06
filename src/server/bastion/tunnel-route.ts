import { randomUUID } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { JitsshError } from '../../shared/errors.js'
import { TUNNEL_CLOSE } from '../../shared/protocol.js'
import type { TargetAddress } from '../config/types.js'
import type { Uses } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import { requestedHost } from '../http/request-fields.js'
import { policyDetail } from '../policy/access.js'
import { openHostAccess } from './access-check.js'
import { authenticatedBy } from '../identity/service-accounts.js'
import type { AuditEventInput } from '../audit/audit-log.js'
import type { LiveTunnelRow } from '../store/store.js'
import { bridgeWebSocketToTcp } from './tcp-bridge.js'

interface PreparedTunnel {
  auth: Authenticated
  host: string
  target: TargetAddress
  tcp: Socket
  startedAt: number
  /** The access request whose grant allows it (its end or revocation closes the tunnel). */
  grantId: string | null
}

function connectWithTimeout(target: TargetAddress, timeoutMs: number, host: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, noDelay: true })
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

/**
 * `GET /v1/tunnel?host=&port=` (WebSocket): every check — token, then openHostAccess (session, person,
 * grants, policy, target, port), then the TCP connect — happens before the upgrade, so a failure is a plain HTTP
 * 401/403/502 with a JSON body.
 */
export type TunnelRouteDeps = Uses<'accessTokens' | 'sessions' | 'audit' | 'config' | 'now' | 'replica' | 'requests' | 'tunnels' | 'unauthenticated'>

export function registerTunnelRoute(app: FastifyInstance, ctx: TunnelRouteDeps): void {
  const prepared = new WeakMap<FastifyRequest, PreparedTunnel>()

  async function prepare(request: FastifyRequest<{ Querystring: { host?: unknown; port?: unknown } }>): Promise<void> {
    let auth: Authenticated | undefined
    let host: string | null = null
    try {
      if (!(request as { ws?: boolean }).ws) throw new JitsshError('ERR_BAD_REQUEST', 'this endpoint needs a WebSocket upgrade')
      auth = await authenticateBearer(ctx, request)
      host = requestedHost(request.query.host)
      const { target, decision: grant } = await openHostAccess(ctx, auth.session, host, { port: request.query.port, sourceIp: request.ip })
      const startedAt = Date.now()
      const tcp = await connectWithTimeout(target, ctx.config.bastion.connectTimeoutMs, host)
      // If the upgrade never completes (bad handshake, client gone), do not keep the target connection.
      request.raw.socket.once('close', () => {
        if (prepared.has(request)) tcp.destroy()
      })
      prepared.set(request, { auth, host, target, tcp, startedAt, grantId: grant.grantId })
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
  }

  async function open(ws: WebSocket, request: FastifyRequest): Promise<void> {
    const tunnel = prepared.get(request)
    prepared.delete(request)
    if (!tunnel) return ws.close(1011, 'tunnel was not prepared')
    const { auth, host, target, tcp, grantId } = tunnel
    const openedAt = ctx.now()
    const user = auth.session.identity.email
    // Its row lives as long as the tunnel: if this process dies, whoever reaps it writes the close (replicas/).
    const record: LiveTunnelRow = { id: randomUUID(), replicaId: ctx.replica.id, sessionId: auth.session.id, userEmail: user, host, openedAt, bytesUp: 0, bytesDown: 0, bytesAt: openedAt }
    const recordClose = (detail: Record<string, unknown>): Promise<void> =>
      ctx.audit
        .recordTunnelClose(record.id, { type: 'tunnel.close', outcome: 'ok', user, sessionId: auth.session.id, host, detail: { tunnel: record.id, ...detail } } satisfies AuditEventInput)
        .then(
          (written) => void (written ?? request.log.warn({ tunnel: record.id }, 'tunnel.close not written here: the server process that took this one for dead wrote it')),
          (error: unknown) => request.log.error({ err: error }, 'audit write failed for tunnel.close'),
        )
    // The client may send at once (ssh's banner): hold its messages while the open is audited (a network
    // round trip with PostgreSQL), and hand them to the bridge in order once it is attached.
    ws.pause()
    const early: Array<[Buffer, boolean]> = []
    const hold = (data: Buffer, isBinary: boolean): void => void early.push([data, isBinary])
    ws.on('message', hold)
    const recorded = await ctx.audit
      .recordTunnelOpen(record, {
        type: 'tunnel.open', outcome: 'ok', user, sessionId: auth.session.id, host,
        detail: { tunnel: record.id, target: `${target.host}:${target.port}`, ip: request.ip, connect_ms: Date.now() - tunnel.startedAt, ...(grantId ? { grant: grantId } : {}), ...authenticatedBy(auth.session.auth) },
      })
      .then(() => true, (error: unknown) => (request.log.error({ err: error }, 'audit write failed for tunnel.open'), false))
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
      await recordClose({ bytes_up: 0, bytes_down: 0, duration_ms: ctx.now() - openedAt, reason, ...(targetGone ? { close_code: TUNNEL_CLOSE.TARGET_CLOSED } : {}) })
      return
    }
    let entryId = 0
    const bridge = bridgeWebSocketToTcp(ws, tcp, {
      keepaliveMs: ctx.config.bastion.keepaliveMs,
      onClose: (stats) => {
        void recordClose({ bytes_up: stats.bytesUp, bytes_down: stats.bytesDown, duration_ms: ctx.now() - openedAt, close_code: stats.closeCode, reason: stats.closeReason })
          .finally(() => ctx.tunnels.remove(entryId))
      },
    })
    entryId = ctx.tunnels.add({
      kind: 'tunnel', recordId: record.id, sessionId: auth.session.id, user, host, sourceIp: request.ip, openedAt, grantId, close: (code, reason) => bridge.close(code, reason), bytes: () => bridge.bytes(),
    }).id
    if (grantId) {
      const actor = { identity: auth.session.identity, auth: auth.session.auth, sessionId: auth.session.id, ip: request.ip }
      void ctx.requests.used(grantId, actor, { action: 'tunnel', host }).catch((error: unknown) => request.log.error({ err: error }, 'access requests: recording the first use failed'))
    }
    ws.resume() // the socket's next data comes on a later tick, after the held messages
    for (const [data, isBinary] of early) ws.emit('message', data, isBinary)
  }

  app.route<{ Querystring: { host?: unknown; port?: unknown } }>({
    method: 'GET',
    url: '/v1/tunnel',
    config: { rateLimit: { max: ctx.config.rateLimits.tunnelPerMinute, timeWindow: 60_000 } },
    preHandler: prepare,
    handler: async () => {
      throw new JitsshError('ERR_BAD_REQUEST', 'this endpoint needs a WebSocket upgrade')
    },
    wsHandler: open,
  })
}
