import { LIVE_TUNNEL_COLUMNS, REPLICA_COLUMNS, liveTunnelValues, placeholders, replicaValues, toLiveTunnel, toReplica, type DbRow } from '../row-mappers.js'
import { reapedError } from '../reaped.js'
import type { AuditDraft, AuditRecord, AuditSeal, LiveTunnelRow, ReplicaRow, ReplicaStore, TunnelBytes } from '../store.js'
import type { SqliteAudit } from './audit.js'
import type { SqliteDatabase } from './database.js'

/** Alive: neither stopped nor reaped, and heard from within `silentBeats` of its own heartbeats. */
const ALIVE = 'stopped_at IS NULL AND reaped_at IS NULL AND heartbeat_at + @beats * heartbeat_ms >= @now'

export class SqliteReplicas implements ReplicaStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly audit: SqliteAudit,
  ) {}

  async now(): Promise<number> {
    return Date.now()
  }

  async register(row: ReplicaRow): Promise<void> {
    await this.db.write(() => this.db.sql(`INSERT INTO replicas (${REPLICA_COLUMNS}) VALUES ${placeholders(REPLICA_COLUMNS, 'sqlite')}`).run(...replicaValues(row)))
  }

  async heartbeat(id: string, now: number, bytes: TunnelBytes[]): Promise<boolean> {
    return this.db.write(() => {
      const renewed = this.db.sql('UPDATE replicas SET heartbeat_at = ? WHERE id = ? AND reaped_at IS NULL').run(now, id).changes === 1
      if (!renewed) return false
      const update = this.db.sql('UPDATE live_tunnels SET bytes_up = ?, bytes_down = ?, bytes_at = ? WHERE id = ? AND replica_id = ?')
      for (const tunnel of bytes) update.run(tunnel.bytesUp, tunnel.bytesDown, now, tunnel.id, id)
      return true
    })
  }

  async stop(id: string, now: number): Promise<void> {
    await this.db.write(() => this.db.sql('UPDATE replicas SET stopped_at = ? WHERE id = ? AND stopped_at IS NULL').run(now, id))
  }

  async unreaped(except: string): Promise<ReplicaRow[]> {
    return (this.db.sql('SELECT * FROM replicas WHERE reaped_at IS NULL AND id <> ? ORDER BY started_at').all(except) as DbRow[]).map(toReplica)
  }

  async openTunnel(row: LiveTunnelRow, draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord> {
    return this.db.write(() => {
      const inserted = this.db
        .sql(`INSERT INTO live_tunnels (${LIVE_TUNNEL_COLUMNS}) SELECT ${placeholders(LIVE_TUNNEL_COLUMNS, 'sqlite').slice(1, -1)} WHERE EXISTS (SELECT 1 FROM replicas WHERE id = ? AND reaped_at IS NULL)`)
        .run(...liveTunnelValues(row), row.replicaId)
      if (inserted.changes !== 1) throw reapedError(row.replicaId)
      return this.audit.appendInTransaction(draft, now, seal)
    })
  }

  async closeTunnel(id: string, draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord | undefined> {
    return this.db.write(() => {
      if (this.db.sql('DELETE FROM live_tunnels WHERE id = ?').run(id).changes !== 1) return undefined
      return this.audit.appendInTransaction(draft, now, seal)
    })
  }

  async reap(id: string, by: string, now: number, silentBeats: number | null, audit: (tunnel: LiveTunnelRow, replica: ReplicaRow) => AuditDraft, seal: AuditSeal): Promise<AuditRecord[] | undefined> {
    return this.db.write(() => {
      const claimed = this.db
        .sql(`UPDATE replicas SET reaped_at = @now, reaped_by = @by WHERE id = @id AND reaped_at IS NULL
          AND (stopped_at IS NOT NULL OR @beats IS NULL OR heartbeat_at + @beats * heartbeat_ms < @now) RETURNING *`)
        .get({ id, by, now, beats: silentBeats }) as DbRow | undefined
      if (!claimed) return undefined
      const replica = toReplica(claimed)
      const tunnels = (this.db.sql('DELETE FROM live_tunnels WHERE replica_id = ? RETURNING *').all(id) as DbRow[]).map(toLiveTunnel)
      return tunnels.sort((a, b) => a.openedAt - b.openedAt || a.id.localeCompare(b.id)).map((tunnel) => this.audit.appendInTransaction(audit(tunnel, replica), now, seal))
    })
  }

  async liveTunnelsBySession(now: number, silentBeats: number): Promise<Map<string, number>> {
    const rows = this.db
      .sql(`SELECT session_id, count(*) AS n FROM live_tunnels WHERE replica_id IN (SELECT id FROM replicas WHERE ${ALIVE}) GROUP BY session_id`)
      .all({ now, beats: silentBeats }) as DbRow[]
    return new Map(rows.map((row) => [String(row.session_id), Number(row.n)]))
  }
}
