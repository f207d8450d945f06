import { RECORDING_COLUMNS, recordingValues, toRecording, type DbRow } from '../row-mappers.js'
import type { RecordingQuery, RecordingRow, RecordingStore } from '../store.js'
import type { SqliteDatabase } from './database.js'

export class SqliteRecordings implements RecordingStore {
  constructor(private readonly db: SqliteDatabase) {}

  async create(row: RecordingRow): Promise<void> {
    return this.db.write(() => {
      this.db.sql(`INSERT INTO recordings (${RECORDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...recordingValues(row, (value) => (value ? 1 : 0)))
    })
  }

  async append(id: string, seq: number, data: string): Promise<void> {
    return this.db.write(() => {
      this.db.sql('INSERT INTO recording_chunks (recording_id, seq, data) VALUES (?, ?, ?)').run(id, seq, data)
    })
  }

  async finish(id: string, end: { endedAt: number; durationMs: number; size: number; sha256: string }): Promise<boolean> {
    return this.db.write(() =>
      this.db.sql('UPDATE recordings SET ended_at = ?, duration_ms = ?, size = ?, sha256 = ? WHERE id = ? AND ended_at IS NULL')
        .run(end.endedAt, end.durationMs, end.size, end.sha256, id).changes === 1)
  }

  async get(id: string): Promise<RecordingRow | undefined> {
    const row = this.db.sql('SELECT * FROM recordings WHERE id = ?').get(id) as DbRow | undefined
    return row && toRecording(row)
  }

  async list(query: RecordingQuery): Promise<RecordingRow[]> {
    const rows = this.db
      .sql(`SELECT * FROM recordings WHERE (@user IS NULL OR user_email = @user) AND (@host IS NULL OR host = @host)
        AND (@since IS NULL OR started_at >= @since) AND (@until IS NULL OR started_at < @until)
        ORDER BY started_at DESC, id LIMIT @limit`)
      .all({ user: query.userEmail ?? null, host: query.host ?? null, since: query.since ?? null, until: query.until ?? null, limit: query.limit }) as DbRow[]
    return rows.map(toRecording)
  }

  async chunks(id: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; data: string }>> {
    const rows = this.db.sql('SELECT seq, data FROM recording_chunks WHERE recording_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(id, afterSeq, limit) as DbRow[]
    return rows.map((row) => ({ seq: Number(row.seq), data: String(row.data) }))
  }

  async purge(startedBefore: number): Promise<number> {
    return this.db.write(() => this.db.sql('DELETE FROM recordings WHERE started_at < ?').run(startedBefore).changes)
  }
}
