import pg from 'pg'
import type { RevocationEvent, RevocationListeners } from '../revocation-events.js'

/** The NOTIFY channel replicas share. Payloads are JSON (see revocationPayload), far below the 8000-byte limit. */
export const REVOCATION_CHANNEL = 'jitssh_revocations'

export interface ListenerTiming {
  /** First reconnect delay after the connection drops; doubles per failed try (with ±25% jitter)... */
  reconnectMinMs: number
  /** ...up to this. */
  reconnectMaxMs: number
  /** A `SELECT 1` this often, so a connection that died silently (no FIN, no RST) is noticed and replaced. */
  heartbeatMs: number
}

export const DEFAULT_LISTENER_TIMING: ListenerTiming = { reconnectMinMs: 100, reconnectMaxMs: 5_000, heartbeatMs: 10_000 }

type NotifiedEvent = Exclude<RevocationEvent, { kind: 'resync' }>

/** The NOTIFY payload for `event`, sent by the store instance `origin` (which ignores its own). */
export function revocationPayload(origin: string, event: NotifiedEvent): string {
  const reason = event.reason.slice(0, 200)
  switch (event.kind) {
    case 'session': return JSON.stringify({ v: 1, origin, kind: 'session', session_id: event.sessionId, reason })
    case 'user': return JSON.stringify({ v: 1, origin, kind: 'user', user: event.user, reason })
    case 'grant': return JSON.stringify({ v: 1, origin, kind: 'grant', grant_id: event.grantId, reason })
  }
}

/** The event in a payload from another store instance; undefined for our own, or for anything malformed. */
export function parseRevocationPayload(payload: string | undefined, ownOrigin: string): NotifiedEvent | undefined {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(payload ?? '') as Record<string, unknown>
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || value.v !== 1 || value.origin === ownOrigin) return undefined
  const reason = typeof value.reason === 'string' ? value.reason : 'revoked'
  if (value.kind === 'session' && typeof value.session_id === 'string') return { kind: 'session', sessionId: value.session_id, reason }
  if (value.kind === 'user' && typeof value.user === 'string') return { kind: 'user', user: value.user, reason }
  if (value.kind === 'grant' && typeof value.grant_id === 'string') return { kind: 'grant', grantId: value.grant_id, reason }
  return undefined
}

/**
 * A dedicated connection that LISTENs on REVOCATION_CHANNEL and hands other replicas' revocations to
 * `listeners`. When the connection drops (or stops answering the heartbeat) it reconnects with backoff,
 * and once it listens again emits `resync`: notifications sent meanwhile are lost, so the session service
 * and the bastion re-check everything they hold.
 */
export class PostgresRevocationListener {
  private client: pg.Client | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private failures = 0
  private stopped = false

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly origin: string,
    private readonly listeners: RevocationListeners,
    private readonly timing: ListenerTiming = DEFAULT_LISTENER_TIMING,
  ) {}

  /** Listens before it resolves; rejects when the first connection fails (a replica must not start deaf). */
  async start(): Promise<void> {
    try {
      await this.connect()
    } catch (error) {
      await this.stop()
      throw error
    }
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.timing.heartbeatMs).unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.reconnectTimer)
    clearInterval(this.heartbeatTimer)
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => undefined)
  }

  /** The backend process id of the listening connection (tests terminate it to simulate a drop). */
  get backendPid(): number | undefined {
    return (this.client as { processID?: number } | undefined)?.processID
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.config, application_name: 'jitssh-revocations', keepAlive: true, query_timeout: 5_000 })
    this.client = client
    client.on('error', () => this.lost(client))
    client.on('end', () => this.lost(client))
    client.on('notification', (message) => {
      if (message.channel !== REVOCATION_CHANNEL || client !== this.client) return
      const event = parseRevocationPayload(message.payload, this.origin)
      if (event) this.listeners.emit(event)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`)
    } catch (error) {
      this.lost(client)
      throw error
    }
  }

  /** Drops a connection that failed (once per connection) and schedules the next try. */
  private lost(client: pg.Client): void {
    if (client !== this.client) return
    this.client = undefined
    client.end().catch(() => undefined)
    if (this.stopped) return
    const delay = Math.min(this.timing.reconnectMaxMs, this.timing.reconnectMinMs * 2 ** this.failures)
    this.failures++
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay * (0.75 + Math.random() * 0.5)).unref()
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return
    try {
      await this.connect()
    } catch {
      return // lost() has scheduled the next try
    }
    if (this.stopped) return
    this.failures = 0
    this.listeners.emit({ kind: 'resync' })
  }

  private heartbeat(): void {
    const client = this.client
    if (!client) return
    client.query('SELECT 1').catch(() => this.lost(client))
  }
}
