import { LIVE_TUNNEL_COLUMNS, REPLICA_COLUMNS, liveTunnelValues, placeholders, replicaValues, toLiveTunnel, toReplica } from '../row-mappers.js'
import { reapedError } from '../reaped.js'
import type { AuditDraft, AuditRecord, AuditSeal, LiveTunnelRow, ReplicaRow, ReplicaStore, TunnelBytes } from '../store.js'
import type { PostgresAudit } from './audit.js'
import type { PostgresDatabase } from './database.js'

/**
 * Replicas and their live tunnels on PostgreSQL. Every write that goes with an audit event (a tunnel's open,
 * its close, a reaping) runs in the audit chain's transaction, under its lock: a reaping and a tunnel of the
 * reaped replica opening or closing are therefore one after the other, never interleaved (a tunnel opens only
 * while its replica is unreaped; a close is written once, by its replica or by the reaper).
 */
export class PostgresReplicas implements ReplicaStore {
  constructor(
    private readonly db: PostgresDatabase,
    private readonly audit: PostgresAudit,
  ) {}

  /** The database's clock, in Unix ms: every replica reads the same one. */
  async now(): Promise<number> {
    const [row] = await this.db.rows('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now')
    return Number(row!.now)
  }

  async register(row: ReplicaRow): Promise<void> {
    await this.db.query(`INSERT INTO replicas (${REPLICA_COLUMNS}) VALUES ${placeholders(REPLICA_COLUMNS, 'postgres')}`, replicaValues(row))
  }

  /** One statement: the heartbeat, and (only if it renewed) the bytes of the replica's tunnels. */
  async heartbeat(id: string, now: number, bytes: TunnelBytes[]): Promise<boolean> {
    const { rows } = await this.db.query(
      `WITH renewed AS (UPDATE replicas SET heartbeat_at = $2 WHERE id = $1 AND reaped_at IS NULL RETURNING id),
        counted AS (
          UPDATE live_tunnels t SET bytes_up = b.up, bytes_down = b.down, bytes_at = $2
          FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS b (id, up, down)
          WHERE t.id = b.id AND t.replica_id = $1 AND EXISTS (SELECT 1 FROM renewed)
        )
      SELECT count(*) AS renewed FROM renewed`,
      [id, now, bytes.map((tunnel) => tunnel.id), bytes.map((tunnel) => tunnel.bytesUp), bytes.map((tunnel) => tunnel.bytesDown)],
    )
    return Number(rows[0]?.renewed ?? 0) === 1
  }

  async stop(id: string, now: number): Promise<void> {
    await this.db.query('UPDATE replicas SET stopped_at = $2 WHERE id = $1 AND stopped_at IS NULL', [id, now])
  }

  async unreaped(except: string): Promise<ReplicaRow[]> {
    return (await this.db.rows('SELECT * FROM replicas WHERE reaped_at IS NULL AND id <> $1 ORDER BY started_at', [except])).map(toReplica)
  }

  async openTunnel(row: LiveTunnelRow, draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord> {
    const [record] = await this.audit.appendAll(now, seal, async (client) => {
      const values = liveTunnelValues(row)
      const inserted = await client.query(
        `INSERT INTO live_tunnels (${LIVE_TUNNEL_COLUMNS}) SELECT ${values.map((_value, index) => `$${index + 1}`).join(', ')}
          WHERE EXISTS (SELECT 1 FROM replicas WHERE id = $${values.length + 1} AND reaped_at IS NULL)`,
        [...values, row.replicaId],
      )
      if (inserted.rowCount !== 1) throw reapedError(row.replicaId)
      return [draft]
    })
    return record!
  }

  async closeTunnel(id: string, draft: AuditDraft, now: number, seal: AuditSeal): Promise<AuditRecord | undefined> {
    const [record] = await this.audit.appendAll(now, seal, async (client) => ((await client.query('DELETE FROM live_tunnels WHERE id = $1', [id])).rowCount === 1 ? [draft] : []))
    return record
  }

  async reap(id: string, by: string, now: number, silentBeats: number | null, audit: (tunnel: LiveTunnelRow, replica: ReplicaRow) => AuditDraft, seal: AuditSeal): Promise<AuditRecord[] | undefined> {
    let claimed = false
    const records = await this.audit.appendAll(now, seal, async (client) => {
      const { rows } = await client.query(
        `UPDATE replicas SET reaped_at = $3, reaped_by = $2 WHERE id = $1 AND reaped_at IS NULL
          AND (stopped_at IS NOT NULL OR $4::bigint IS NULL OR heartbeat_at + $4::bigint * heartbeat_ms < $3) RETURNING *`,
        [id, by, now, silentBeats],
      )
      if (rows.length === 0) return []
      claimed = true
      const replica = toReplica(rows[0]!)
      const tunnels = (await client.query('DELETE FROM live_tunnels WHERE replica_id = $1 RETURNING *', [id])).rows.map(toLiveTunnel)
      return tunnels.sort((a, b) => a.openedAt - b.openedAt || a.id.localeCompare(b.id)).map((tunnel) => audit(tunnel, replica))
    })
    return claimed ? records : undefined
  }

  async liveTunnelsBySession(now: number, silentBeats: number): Promise<Map<string, number>> {
    const rows = await this.db.rows(
      `SELECT session_id, count(*) AS n FROM live_tunnels WHERE replica_id IN (
        SELECT id FROM replicas WHERE stopped_at IS NULL AND reaped_at IS NULL AND heartbeat_at + $2::bigint * heartbeat_ms >= $1) GROUP BY session_id`,
      [now, silentBeats],
    )
    return new Map(rows.map((row) => [String(row.session_id), Number(row.n)]))
  }
}
