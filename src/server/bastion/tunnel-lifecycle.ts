import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { FastifyRequest } from 'fastify'
import type { TargetAddress } from '../config/types.js'
import type { Uses } from '../context.js'
import type { Authenticated } from '../http/bearer-auth.js'
import { authenticatedBy } from '../identity/service-accounts.js'
import type { AuditEventInput } from '../audit/audit-log.js'
import type { LiveTunnelRow } from '../store/store.js'
import type { TunnelBridge, TunnelStats } from './tcp-bridge.js'
import type { PooledReadSink } from '../../shared/read-buffers.js'

/** A tunnel whose checks passed and whose target connection is open, before its transport is attached. */
export interface PreparedTunnel {
  auth: Authenticated
  host: string
  target: TargetAddress
  tcp: Socket
  startedAt: number
  /** The access request whose grant allows it (its end or revocation closes the tunnel). */
  grantId: string | null
  /** Where the target's bytes go when `tcp` reads into pooled buffers (raw tunnels: read-buffers.ts). */
  reads?: { current: PooledReadSink | null }
}

export type TunnelLifecycleDeps = Uses<'audit' | 'config' | 'now' | 'replica' | 'requests' | 'tunnels'>

/**
 * What every tunnel goes through whatever carries it (WebSocket or the raw upgrade): its `live_tunnels` row and
 * `tunnel.open` event in one write (`opened()`), its `tunnel.close` with bytes, duration and close reason (the row
 * removed in the same write: `closed()`), and its registration with the TunnelSupervisor, so that a revocation,
 * the session's or the grant's end or the policy sweep closes it (`register()`).
 */
export class AuditedTunnel {
  readonly record: LiveTunnelRow
  private readonly openedAt: number
  private readonly user: string

  constructor(
    private readonly ctx: TunnelLifecycleDeps,
    private readonly request: FastifyRequest,
    readonly tunnel: PreparedTunnel,
  ) {
    this.openedAt = ctx.now()
    this.user = tunnel.auth.session.identity.email
    // Its row lives as long as the tunnel: if this process dies, whoever reaps it writes the close (replicas/).
    this.record = { id: randomUUID(), replicaId: ctx.replica.id, sessionId: tunnel.auth.session.id, userEmail: this.user, host: tunnel.host, openedAt: this.openedAt, bytesUp: 0, bytesDown: 0, bytesAt: this.openedAt }
  }

  /** `tunnel.open` and the row, durably; false (logged) when the audit log could not take it. */
  opened(transport: 'websocket' | 'raw'): Promise<boolean> {
    const { auth, host, target, grantId, startedAt } = this.tunnel
    return this.ctx.audit
      .recordTunnelOpen(this.record, {
        type: 'tunnel.open', outcome: 'ok', user: this.user, sessionId: auth.session.id, host,
        detail: {
          tunnel: this.record.id, target: `${target.host}:${target.port}`, ip: this.request.ip, connect_ms: Date.now() - startedAt,
          ...(transport === 'raw' ? { transport } : {}), ...(grantId ? { grant: grantId } : {}), ...authenticatedBy(auth.session.auth),
        },
      })
      .then(() => true, (error: unknown) => (this.request.log.error({ err: error }, 'audit write failed for tunnel.open'), false))
  }

  /** `tunnel.close` (never throws: a failed write is logged). */
  closed(detail: { bytes_up: number; bytes_down: number; reason: string; close_code?: number }): Promise<void> {
    const { auth, host } = this.tunnel
    const event = { type: 'tunnel.close', outcome: 'ok', user: this.user, sessionId: auth.session.id, host, detail: { tunnel: this.record.id, ...detail, duration_ms: this.ctx.now() - this.openedAt } } satisfies AuditEventInput
    return this.ctx.audit.recordTunnelClose(this.record.id, event).then(
      (written) => void (written ?? this.request.log.warn({ tunnel: this.record.id }, 'tunnel.close not written here: the server process that took this one for dead wrote it')),
      (error: unknown) => this.request.log.error({ err: error }, 'audit write failed for tunnel.close'),
    )
  }

  /** The onClose of a bridge: audits the close, then leaves the registry. */
  onBridgeClosed(): (stats: TunnelStats) => void {
    return (stats) => {
      void this.closed({ bytes_up: stats.bytesUp, bytes_down: stats.bytesDown, close_code: stats.closeCode, reason: stats.closeReason }).finally(() => this.ctx.tunnels.remove(this.entryId))
    }
  }

  private entryId = 0

  /** Registers the running bridge with the supervisor (revocation, session and grant end, the sweep) and notes a grant's first use. */
  register(bridge: TunnelBridge): void {
    const { auth, host, grantId } = this.tunnel
    const ip = this.request.ip
    this.entryId = this.ctx.tunnels.add({
      kind: 'tunnel', recordId: this.record.id, sessionId: auth.session.id, user: this.user, host, sourceIp: ip, openedAt: this.openedAt, grantId,
      close: (code, reason) => bridge.close(code, reason), bytes: () => bridge.bytes(),
    }).id
    if (grantId) {
      const actor = { identity: auth.session.identity, auth: auth.session.auth, sessionId: auth.session.id, ip }
      void this.ctx.requests.used(grantId, actor, { action: 'tunnel', host }).catch((error: unknown) => this.request.log.error({ err: error }, 'access requests: recording the first use failed'))
    }
  }
}
