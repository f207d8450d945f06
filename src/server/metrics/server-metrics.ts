import type { CheckpointSink } from '../http/delivery-queue.js'
import type { TunnelRegistry } from '../bastion/tunnel-registry.js'
import type { AdminQueries, AuditRecord } from '../store/store.js'
import { type MetricFamily, type Sample, renderExposition } from './exposition.js'

/** The active-sessions gauge is a COUNT over the store: at most one per this long (the server's clock). */
export const SESSIONS_CACHE_MS = 10_000
/** Label values other than the known ones pass through when they look like ours, up to this many series. */
const MAX_SERIES = 32
const LABEL_VALUE = /^[a-z][a-z0-9_]{0,31}$/

/** A counter with fixed label names; the known label combinations are shown from the start, at 0. */
class Counter {
  private readonly series = new Map<string, { labels: Record<string, string>; value: number }>()

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[] = [],
    known: ReadonlyArray<Record<string, string>> = labelNames.length === 0 ? [{}] : [],
  ) {
    for (const labels of known) this.inc(labels, 0)
  }

  inc(labels: Record<string, string> = {}, by = 1): void {
    const values = this.labelNames.map((name) => labels[name] ?? '')
    let key = values.join('\u0000')
    let entry = this.series.get(key)
    if (!entry) {
      const safe = this.series.size < MAX_SERIES && values.every((value) => LABEL_VALUE.test(value))
      const kept = safe ? values : this.labelNames.map(() => 'other')
      key = kept.join('\u0000')
      entry = this.series.get(key) ?? { labels: Object.fromEntries(this.labelNames.map((name, i) => [name, kept[i]!])), value: 0 }
      this.series.set(key, entry)
    }
    entry.value += by
  }

  family(extra: (labels: Record<string, string>) => number = () => 0): MetricFamily {
    const samples: Sample[] = [...this.series.values()].map(({ labels, value }) => ({ labels, value: value + extra(labels) }))
    return { name: this.name, help: this.help, type: 'counter', samples }
  }
}

const each = (name: string, values: readonly string[]): Array<Record<string, string>> => values.map((value) => ({ [name]: value }))
const GRANT_TYPES = ['authorization_code', 'device_code', 'refresh_token', 'token_exchange', 'client_credentials'] as const
/** Routes a caller reaches before authenticating, as the `route` label of the unauthenticated counters. */
export const UNAUTHENTICATED_ROUTES = ['sign', 'tunnel', 'token', 'login'] as const
/** The `route` label of a path that has a per-IP rate limit. */
const RATE_LIMITED_PATHS: Record<string, string> = {
  '/v1/ssh/sign': 'sign', '/v1/tunnel': 'tunnel', '/token': 'token', '/device_authorization': 'device_authorization',
  '/revoke': 'revoke', '/login': 'login', '/oidc/callback': 'login',
}

function detailString(record: AuditRecord, key: string): string | undefined {
  const value = record.detail[key]
  return typeof value === 'string' ? value : undefined
}

/** Why a session was revoked, from its `session.revoke` event, as a small fixed set. */
function revocationCause(record: AuditRecord): string {
  if (record.detail.by !== undefined) return 'admin'
  const reason = detailString(record, 'reason') ?? ''
  if (reason === 'logout') return 'logout'
  if (reason === 'refresh token reused' || reason === 'authorization code replayed') return 'token_reuse'
  return 'other'
}

export interface ServerMetricsOptions {
  /** The sessions gauge counts from here. */
  queries: Pick<AdminQueries, 'countActiveSessions'>
  tunnels: TunnelRegistry
  /** The server's clock (Unix ms): which sessions are active, and the age of the cached count. */
  now: () => number
  /** Told when the sessions count fails (the gauge then shows the last value, or is left out). */
  onError?: (error: unknown) => void
  /** The audit checkpoint sinks, whose delivered and dropped counts are shown. */
  checkpointSinks?: readonly CheckpointSink[]
}

/**
 * The numbers behind `GET /metrics`. Counters are counted from the audit events this process writes
 * (`countAuditEvent`, hooked to AuditLog.onRecorded), so they say exactly what the audit log says; bytes
 * through the bastion come from the live tunnels (closed ones are added up as they leave the registry),
 * so a long transfer shows while it runs. Counters are per process; the sessions gauge is the store's.
 */
export class ServerMetrics {
  private readonly certificatesSigned = new Counter('jitssh_certificates_signed_total', 'User certificate requests, by outcome (denied: refused by validation or policy; requests without a valid token are in jitssh_unauthenticated_requests_total).', ['outcome'], each('outcome', ['ok', 'denied']))
  private readonly tunnelsOpened = new Counter('jitssh_tunnels_opened_total', 'Tunnels opened through the bastion.')
  private readonly tunnelsClosed = new Counter('jitssh_tunnels_closed_total', 'Tunnels closed (by either side, or by a revocation).')
  private readonly tunnelConnectFailures = new Counter('jitssh_tunnel_connect_failures_total', 'Tunnels refused because the target did not accept the TCP connection.')
  private readonly logins = new Counter('jitssh_logins_total', 'Sign-ins to this server (local password or upstream OIDC), by outcome.', ['outcome'], each('outcome', ['ok', 'denied']))
  private readonly tokenGrants = new Counter(
    'jitssh_token_grants_total', 'Token endpoint grants, by grant type and outcome (denied includes reused codes and refresh tokens).', ['grant_type', 'outcome'],
    GRANT_TYPES.flatMap((grant) => [{ grant_type: grant, outcome: 'ok' }, { grant_type: grant, outcome: 'denied' }]),
  )
  private readonly denials = new Counter('jitssh_denials_total', 'Authenticated requests refused by validation or policy (access.denied audit events), by action.', ['action'], each('action', ['sign', 'tunnel', 'admin']))
  private readonly revocations = new Counter('jitssh_sessions_revoked_total', 'Sessions revoked, by cause (admin, logout, token_reuse, other).', ['cause'], each('cause', ['admin', 'logout', 'token_reuse', 'other']))
  private readonly tunnelBytes = new Counter('jitssh_tunnel_bytes_total', 'Bytes carried through the bastion (up: client to target, down: target to client), live tunnels included.', ['direction'], each('direction', ['up', 'down']))
  private readonly unauthenticated = new Counter(
    'jitssh_unauthenticated_requests_total', 'Requests refused before the caller authenticated (no, malformed, forged or expired token, unknown or revoked session; unknown codes and users), by route. Sign and tunnel refusals write no audit row.',
    ['route'], each('route', UNAUTHENTICATED_ROUTES),
  )
  private readonly auditSkipped = new Counter('jitssh_audit_events_skipped_total', 'Audit events of unauthenticated callers not written because the per-process budget (rate_limits.unauthenticated_audit_per_minute) was spent, by route.', ['route'], each('route', UNAUTHENTICATED_ROUTES))
  private readonly connectionsRefused = new Counter('jitssh_connections_refused_total', 'Connections closed on accept because their address held connections.per_ip already.')
  private readonly rateLimited = new Counter('jitssh_rate_limited_requests_total', 'Requests turned away (429) by a per-IP rate limit, by route.', ['route'], each('route', ['sign', 'tunnel', 'token', 'login']))

  private sessionsCount: { value: number; at: number } | undefined
  private sessionsPending: Promise<number | undefined> | undefined

  constructor(private readonly options: ServerMetricsOptions) {
    // A tunnel's final byte counts move from "live" to "closed" in the same step as it leaves the registry.
    options.tunnels.on('removed', (tunnel) => {
      if (tunnel.kind !== 'tunnel') return
      const { up, down } = tunnel.bytes()
      this.tunnelBytes.inc({ direction: 'up' }, up)
      this.tunnelBytes.inc({ direction: 'down' }, down)
    })
  }

  /** Counts one audit event (it was written: AuditLog.onRecorded). */
  countAuditEvent(record: AuditRecord): void {
    const denied = record.outcome === 'denied'
    switch (record.type) {
      case 'cert.sign':
        return this.certificatesSigned.inc({ outcome: record.outcome === 'ok' ? 'ok' : 'denied' })
      case 'access.denied': {
        const action = detailString(record, 'action') ?? 'other'
        if (!denied) return action === 'tunnel' ? this.tunnelConnectFailures.inc() : undefined
        if (action === 'sign') this.certificatesSigned.inc({ outcome: 'denied' })
        return this.denials.inc({ action })
      }
      case 'tunnel.open':
        return this.tunnelsOpened.inc()
      case 'tunnel.close':
        return this.tunnelsClosed.inc()
      case 'login':
        return this.logins.inc({ outcome: denied ? 'denied' : 'ok' })
      case 'token.issue':
      case 'token.refresh':
      case 'token.denied':
        return this.tokenGrants.inc({ grant_type: record.type === 'token.refresh' ? 'refresh_token' : (detailString(record, 'grant') ?? 'other'), outcome: denied ? 'denied' : 'ok' })
      case 'token.refresh_reuse':
        return this.tokenGrants.inc({ grant_type: 'refresh_token', outcome: 'denied' })
      case 'token.code_reuse':
        return this.tokenGrants.inc({ grant_type: 'authorization_code', outcome: 'denied' })
      case 'token_exchange.refused':
        return this.tokenGrants.inc({ grant_type: 'token_exchange', outcome: 'denied' })
      case 'client_credentials.refused':
        return this.tokenGrants.inc({ grant_type: 'client_credentials', outcome: 'denied' })
      case 'session.revoke':
        return this.revocations.inc({ cause: revocationCause(record) })
      default:
        return undefined
    }
  }

  /** A request refused before its caller authenticated (see UnauthenticatedCallers). */
  countUnauthenticated(route: string): void {
    this.unauthenticated.inc({ route })
  }

  /** An unauthenticated caller's audit event that the budget did not allow. */
  countAuditSkipped(route: string): void {
    this.auditSkipped.inc({ route })
  }

  /** A request a per-IP rate limit turned away, by its path. */
  countRateLimited(path: string): void {
    this.rateLimited.inc({ route: RATE_LIMITED_PATHS[path] ?? 'other' })
  }

  /** A connection over the per-address cap. */
  countConnectionRefused(): void {
    this.connectionsRefused.inc()
  }

  /** Sessions neither revoked nor ended, from the store; counted at most once per SESSIONS_CACHE_MS. */
  private async activeSessions(): Promise<number | undefined> {
    const now = this.options.now()
    if (this.sessionsCount && now - this.sessionsCount.at < SESSIONS_CACHE_MS) return this.sessionsCount.value
    this.sessionsPending ??= this.options.queries
      .countActiveSessions(now)
      .then(
        (value) => (this.sessionsCount = { value, at: now }).value,
        (error: unknown) => (this.options.onError?.(error), this.sessionsCount?.value),
      )
      .finally(() => (this.sessionsPending = undefined))
    return this.sessionsPending
  }

  async collect(): Promise<MetricFamily[]> {
    const live = this.options.tunnels.list('tunnel').map((tunnel) => tunnel.bytes())
    const liveBytes = (labels: Record<string, string>): number => live.reduce((sum, bytes) => sum + (labels.direction === 'up' ? bytes.up : bytes.down), 0)
    const sessions = await this.activeSessions()
    const cpu = process.cpuUsage()
    return [
      this.certificatesSigned.family(),
      this.tunnelsOpened.family(),
      this.tunnelsClosed.family(),
      this.tunnelConnectFailures.family(),
      this.tunnelBytes.family(liveBytes),
      this.logins.family(),
      this.tokenGrants.family(),
      this.denials.family(),
      this.revocations.family(),
      this.unauthenticated.family(),
      this.auditSkipped.family(),
      this.rateLimited.family(),
      this.connectionsRefused.family(),
      {
        name: 'jitssh_audit_checkpoints_total', help: 'Signed audit checkpoints, by sink and outcome (delivered; dropped: the sink was behind or closed with them waiting).', type: 'counter',
        samples: (this.options.checkpointSinks ?? []).flatMap((sink) => [
          { labels: { sink: sink.name, outcome: 'delivered' }, value: sink.counts.delivered },
          { labels: { sink: sink.name, outcome: 'dropped' }, value: sink.counts.dropped },
        ]),
      },
      { name: 'jitssh_tunnels_live', help: 'Tunnels open through this process now.', type: 'gauge', samples: [{ labels: {}, value: live.length }] },
      { name: 'jitssh_terminals_live', help: 'Browser terminals open through this process now.', type: 'gauge', samples: [{ labels: {}, value: this.options.tunnels.list('terminal').length }] },
      ...(sessions === undefined
        ? []
        : [{ name: 'jitssh_sessions_active', help: `CLI sessions neither revoked nor ended (from the store, shared by every replica; up to ${SESSIONS_CACHE_MS / 1000}s old).`, type: 'gauge' as const, samples: [{ labels: {}, value: sessions }] }]),
      { name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', type: 'counter', samples: [{ labels: {}, value: (cpu.user + cpu.system) / 1e6 }] },
      { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', type: 'gauge', samples: [{ labels: {}, value: process.memoryUsage.rss() }] },
      { name: 'process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds.', type: 'gauge', samples: [{ labels: {}, value: Math.round(performance.timeOrigin / 1000) }] },
    ]
  }

  async render(): Promise<string> {
    return renderExposition(await this.collect())
  }
}
