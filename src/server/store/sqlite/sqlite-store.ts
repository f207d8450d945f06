import type { RevocationListener, Store } from '../store.js'
import { SqliteAdminQueries } from './admin.js'
import { SqliteAudit } from './audit.js'
import { SqliteCertificates } from './certificates.js'
import { SqliteDatabase } from './database.js'
import { SqliteOAuth } from './oauth.js'
import { SqliteReplicas } from './replicas.js'
import { SqliteAccessRequests } from './requests.js'
import { SqliteRecordings } from './recordings.js'
import { SqliteReplays } from './replays.js'
import { SqliteSessions } from './sessions.js'
import { SqliteThrottles } from './throttles.js'
import { SqliteUpstreamGrants } from './upstream.js'
import { SqliteUsers } from './users.js'

/** The embedded store: one SQLite file for one server process (see database.ts for durability). */
export class SqliteStore implements Store {
  readonly database: SqliteDatabase
  readonly sessions: SqliteSessions
  readonly oauth: SqliteOAuth
  readonly certificates: SqliteCertificates
  readonly audit: SqliteAudit
  readonly users: SqliteUsers
  readonly throttles: SqliteThrottles
  readonly admin: SqliteAdminQueries
  readonly upstream: SqliteUpstreamGrants
  readonly requests: SqliteAccessRequests
  readonly recordings: SqliteRecordings
  readonly replays: SqliteReplays
  readonly replicas: SqliteReplicas

  constructor(file: string) {
    const database = new SqliteDatabase(file)
    this.database = database
    this.sessions = new SqliteSessions(database)
    this.oauth = new SqliteOAuth(database)
    this.audit = new SqliteAudit(database)
    this.certificates = new SqliteCertificates(database, this.audit)
    this.users = new SqliteUsers(database)
    this.throttles = new SqliteThrottles(database)
    this.admin = new SqliteAdminQueries(database)
    this.upstream = new SqliteUpstreamGrants(database)
    this.requests = new SqliteAccessRequests(database)
    this.recordings = new SqliteRecordings(database)
    this.replays = new SqliteReplays(database)
    this.replicas = new SqliteReplicas(database, this.audit)
  }

  /** The better-sqlite3 handle (tests use it to look behind the store). */
  get db(): SqliteDatabase['db'] {
    return this.database.db
  }

  /** One process owns the SQLite file, so no other replica can revoke anything: nothing to hear. */
  onRevocation(_listener: RevocationListener): () => void {
    return () => undefined
  }

  async purgeExpired(now: number, loginFailuresBefore: number): Promise<void> {
    return this.database.write(() => {
      const sql = (text: string) => this.database.sql(text)
      sql('DELETE FROM web_sessions WHERE expires_at < ?').run(now)
      sql('DELETE FROM terminal_tickets WHERE expires_at < ?').run(now)
      sql('DELETE FROM oidc_logins WHERE expires_at < ?').run(now)
      sql('DELETE FROM login_failures WHERE at < ?').run(loginFailuresBefore)
      sql('DELETE FROM used_token_ids WHERE expires_at < ?').run(now)
      // Keep used codes for a day so a late replay is still recognised (and revokes its session).
      sql('DELETE FROM auth_codes WHERE expires_at < ?').run(now - 86_400_000)
      sql('DELETE FROM device_codes WHERE expires_at < ?').run(now - 86_400_000)
      // Processes that stopped or were reaped a day ago, and left no tunnel behind.
      sql(`DELETE FROM replicas WHERE coalesce(reaped_at, stopped_at) < ? AND NOT EXISTS (SELECT 1 FROM live_tunnels WHERE replica_id = replicas.id)`).run(now - 86_400_000)
    })
  }

  async ping(): Promise<void> {
    this.database.sql('SELECT 1').get()
  }

  async close(): Promise<void> {
    this.database.close()
  }
}
