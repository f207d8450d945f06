import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { AuditEventInput, AuditLog } from '../audit/audit-log.js'
import type { LogLine } from '../logging/sampled-log.js'
import type { LiveTunnelRow, ReplicaRow, ReplicaStore, TunnelBytes } from '../store/store.js'

/** A process silent for this many of its own heartbeats is taken for dead. */
export const SILENT_BEATS = 3
/** The reason of every tunnel.close written for a process that died with the tunnel open. */
export const CRASHED = 'server crashed'

/** What the lease needs of a live tunnel of this process. */
export interface LeasedTunnel {
  recordId: string
  bytes(): { up: number; down: number }
}

export interface ReplicaLeaseOptions {
  store: ReplicaStore
  audit: Pick<AuditLog, 'recordReaping'>
  heartbeatMs: number
  /** SQLite: one process owns the database, so at start every other one registered is dead. */
  singleProcess: boolean
  /** This process's live tunnels: their bytes go with each heartbeat. */
  tunnels: () => LeasedTunnel[]
  /** Another process took this one for dead and closed its tunnels' records: they must not go on unrecorded. */
  onLost: () => void
  warn: LogLine
}

/**
 * This process's place among those sharing the database, and the crash reconciliation that rests on it.
 *
 * Time here is the store's clock (ReplicaStore.now(): the database's on PostgreSQL), never a replica's own.
 * At start the process registers under a random id; every `heartbeatMs` it renews its heartbeat and writes the
 * bytes its live tunnels carried (one write, whatever the traffic). A process silent for SILENT_BEATS of its
 * own heartbeats is dead: the first other process to see it reaps it (one winner, compare-and-set) and writes a
 * tunnel.close ("server crashed", the bytes last written, the time it was last heard of) for each tunnel it left
 * open. On SQLite, which one process owns, every process registered before this one is dead at start.
 * A process that finds itself reaped (it was silent too long: a pause, a lost database) closes its tunnels,
 * whose records its reaper closed, and registers again.
 */
export class ReplicaLease {
  private current = newReplicaId()
  private timer: NodeJS.Timeout | undefined
  private beating: Promise<void> | undefined
  /** What was last written for each live tunnel, as `up/down`: unchanged tunnels are not written again. */
  private readonly written = new Map<string, string>()

  constructor(private readonly options: ReplicaLeaseOptions) {}

  /** This process's replica id now (a new one after it was reaped). */
  get id(): string {
    return this.current
  }

  /** Registers, reaps what dead processes left, and starts beating. */
  async start(): Promise<void> {
    await this.register()
    await this.reapDead(this.options.singleProcess ? null : SILENT_BEATS)
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs).unref()
  }

  /** One heartbeat (with the bytes of the tunnels that moved), then the reaping of processes that fell silent. */
  beat(): Promise<void> {
    this.beating ??= this.renew()
      .then(() => (this.options.singleProcess ? undefined : this.reapDead(SILENT_BEATS)))
      .catch((error: unknown) => this.options.warn({ err: error, replica: this.current }, 'replica heartbeat failed; the next one tries again'))
      .finally(() => (this.beating = undefined))
    return this.beating
  }

  /** Stops beating and says this process stopped (after its tunnels closed, or were left to its reaper). */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.beating
    await this.options.store.stop(this.current, await this.options.store.now())
  }

  private async register(): Promise<void> {
    const now = await this.options.store.now()
    const row: ReplicaRow = {
      id: this.current, hostname: hostname(), pid: process.pid, startedAt: now, heartbeatMs: this.options.heartbeatMs, heartbeatAt: now,
      stoppedAt: null, reapedAt: null, reapedBy: null,
    }
    await this.options.store.register(row)
  }

  private async renew(): Promise<void> {
    const live = this.options.tunnels()
    const moved: TunnelBytes[] = []
    const now = new Map<string, string>()
    for (const tunnel of live) {
      const { up, down } = tunnel.bytes()
      const seen = `${up}/${down}`
      now.set(tunnel.recordId, seen)
      if (this.written.get(tunnel.recordId) !== seen) moved.push({ id: tunnel.recordId, bytesUp: up, bytesDown: down })
    }
    const renewed = await this.options.store.heartbeat(this.current, await this.options.store.now(), moved)
    this.written.clear()
    if (renewed) {
      for (const [id, seen] of now) this.written.set(id, seen)
      return
    }
    this.options.warn({ replica: this.current, tunnels: live.length }, 'another server process took this one for dead (no heartbeat in time) and closed its tunnels: closing them, registering again')
    this.options.onLost()
    this.current = newReplicaId()
    await this.register()
  }

  /** Reaps every other process that is dead (`silentBeats` null: every one not reaped yet). */
  private async reapDead(silentBeats: number | null): Promise<void> {
    const now = await this.options.store.now()
    for (const replica of await this.options.store.unreaped(this.current)) {
      if (silentBeats !== null && replica.stoppedAt === null && replica.heartbeatAt + silentBeats * replica.heartbeatMs >= now) continue
      const closed = await this.options.audit.recordReaping(replica.id, this.current, now, silentBeats, (tunnel, dead) => reconciledClose(tunnel, dead, this.current))
      if (closed && closed.length > 0) {
        this.options.warn(
          { replica: replica.id, hostname: replica.hostname, pid: replica.pid, last_heartbeat: new Date(replica.heartbeatAt).toISOString(), tunnels: closed.length },
          `closed the tunnels a server process left open (${replica.stoppedAt === null ? CRASHED : 'server stopped'})`,
        )
      }
    }
  }
}

function newReplicaId(): string {
  return `r-${randomBytes(9).toString('base64url')}`
}

/**
 * The tunnel.close of a tunnel whose process died: the bytes last written with a heartbeat (and when), and
 * the time from its open to when its process was last heard of (it may have lived up to a heartbeat longer).
 */
export function reconciledClose(tunnel: LiveTunnelRow, dead: ReplicaRow, by: string): AuditEventInput {
  const lastHeard = dead.stoppedAt ?? dead.heartbeatAt
  return {
    type: 'tunnel.close', outcome: 'error', user: tunnel.userEmail, sessionId: tunnel.sessionId, host: tunnel.host,
    detail: {
      tunnel: tunnel.id, reason: dead.stoppedAt === null ? CRASHED : 'server stopped', bytes_up: tunnel.bytesUp, bytes_down: tunnel.bytesDown,
      bytes_as_of: new Date(tunnel.bytesAt).toISOString(), duration_ms: Math.max(0, lastHeard - tunnel.openedAt), replica: dead.id, reaped_by: by,
    },
  }
}
