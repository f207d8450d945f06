import { randomBytes } from 'node:crypto'
import { RevocationListeners } from '../revocation-events.js'
import type { RevocationListener, Store } from '../store.js'
import { PostgresAdminQueries } from './admin.js'
import { PostgresAudit } from './audit.js'
import { PostgresCertificates } from './certificates.js'
import { PostgresDatabase } from './database.js'
import { migratePostgres } from './migrate.js'
import { PostgresOAuth } from './oauth.js'
import { PostgresReplicas } from './replicas.js'
import { PostgresAccessRequests } from './requests.js'
import { PostgresRecordings } from './recordings.js'
import { PostgresReplays } from './replays.js'
import { DEFAULT_LISTENER_TIMING, PostgresRevocationListener, type ListenerTiming } from './revocation-listener.js'
import { PostgresSessions } from './sessions.js'
import { PostgresThrottles } from './throttles.js'
import { PostgresUpstreamGrants } from './upstream.js'
import { PostgresUsers } from './users.js'

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db` (password from the URL or PGPASSWORD; TLS with `?sslmode=...`). */
  url: string
  poolSize: number
  /** LISTEN for other replicas' revocations (the server); CLI commands leave it off. */
  listenForRevocations: boolean
  listenerTiming?: ListenerTiming
}

/**
 * The store for several replicas: PostgreSQL through a pg.Pool. Compare-and-sets are single conditional
 * statements; the audit chain is appended under an advisory lock (audit.ts); a revocation NOTIFYs the other
 * replicas in the same statement, so they hear of it exactly when it commits (sessions.ts, users.ts).
 */
export class PostgresStore implements Store {
  /** Tells this instance's own NOTIFYs apart from other replicas'. */
  private readonly origin = randomBytes(9).toString('base64url')
  private readonly revocations = new RevocationListeners()
  private listener: PostgresRevocationListener | undefined
  readonly sessions: PostgresSessions
  readonly oauth: PostgresOAuth
  readonly certificates: PostgresCertificates
  readonly audit: PostgresAudit
  readonly users: PostgresUsers
  readonly throttles: PostgresThrottles
  readonly admin: PostgresAdminQueries
  readonly upstream: PostgresUpstreamGrants
  readonly requests: PostgresAccessRequests
  readonly recordings: PostgresRecordings
  readonly replays: PostgresReplays
  readonly replicas: PostgresReplicas

  private constructor(readonly db: PostgresDatabase) {
    this.sessions = new PostgresSessions(db, this.origin)
    this.oauth = new PostgresOAuth(db)
    this.audit = new PostgresAudit(db)
    this.certificates = new PostgresCertificates(db, this.audit)
    this.users = new PostgresUsers(db, this.origin)
    this.throttles = new PostgresThrottles(db)
    this.admin = new PostgresAdminQueries(db)
    this.upstream = new PostgresUpstreamGrants(db)
    this.requests = new PostgresAccessRequests(db, this.origin)
    this.recordings = new PostgresRecordings(db)
    this.replays = new PostgresReplays(db)
    this.replicas = new PostgresReplicas(db, this.audit)
  }

  /** Connects, migrates the schema, and (if asked) listens before it resolves. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(new PostgresDatabase({ connectionString: options.url, max: options.poolSize }))
    try {
      await migratePostgres(store.db)
      if (options.listenForRevocations) {
        const listener = new PostgresRevocationListener({ connectionString: options.url }, store.origin, store.revocations, options.listenerTiming ?? DEFAULT_LISTENER_TIMING)
        await listener.start()
        store.listener = listener
      }
    } catch (error) {
      await store.db.close().catch(() => undefined)
      throw error
    }
    return store
  }

  /** The revocation listener's connection, for tests that cut it. */
  get revocationListener(): PostgresRevocationListener | undefined {
    return this.listener
  }

  onRevocation(listener: RevocationListener): () => void {
    return this.revocations.add(listener)
  }

  /** One statement (data-modifying CTEs all run), so one round trip and all-or-nothing. */
  async purgeExpired(now: number, loginFailuresBefore: number): Promise<void> {
    // Keep used codes for a day so a late replay is still recognised (and revokes its session).
    await this.db.query(
      `WITH web AS (DELETE FROM web_sessions WHERE expires_at < $1),
        tickets AS (DELETE FROM terminal_tickets WHERE expires_at < $1),
        oidc AS (DELETE FROM oidc_logins WHERE expires_at < $1),
        failures AS (DELETE FROM login_failures WHERE at < $2),
        used AS (DELETE FROM used_token_ids WHERE expires_at < $1),
        codes AS (DELETE FROM auth_codes WHERE expires_at < $3),
        devices AS (DELETE FROM device_codes WHERE expires_at < $3),
        gone AS (DELETE FROM replicas WHERE coalesce(reaped_at, stopped_at) < $3
          AND NOT EXISTS (SELECT 1 FROM live_tunnels WHERE replica_id = replicas.id))
      SELECT 1`,
      [now, loginFailuresBefore, now - 86_400_000],
    )
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1')
  }

  async close(): Promise<void> {
    await this.listener?.stop()
    await this.db.close()
  }
}
