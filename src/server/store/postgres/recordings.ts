import { RECORDING_COLUMNS, recordingValues, toRecording } from '../row-mappers.js'
import type { RecordingQuery, RecordingRow, RecordingStore } from '../store.js'
import type { PostgresDatabase } from './database.js'

export class PostgresRecordings implements RecordingStore {
  constructor(private readonly db: PostgresDatabase) {}

  async create(row: RecordingRow): Promise<void> {
    await this.db.query(`INSERT INTO recordings (${RECORDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, recordingValues(row, (value) => value))
  }

  async append(id: string, seq: number, data: string): Promise<void> {
    await this.db.query('INSERT INTO recording_chunks (recording_id, seq, data) VALUES ($1, $2, $3)', [id, seq, data])
  }

  async finish(id: string, end: { endedAt: number; durationMs: number; size: number; sha256: string }): Promise<boolean> {
    const result = await this.db.query('UPDATE recordings SET ended_at = $2, duration_ms = $3, size = $4, sha256 = $5 WHERE id = $1 AND ended_at IS NULL', [
      id, end.endedAt, end.durationMs, end.size, end.sha256,
    ])
    return result.rowCount === 1
  }

  async get(id: string): Promise<RecordingRow | undefined> {
    const [row] = await this.db.rows('SELECT * FROM recordings WHERE id = $1', [id])
    return row && toRecording(row)
  }

  async list(query: RecordingQuery): Promise<RecordingRow[]> {
    const rows = await this.db.rows(
      `SELECT * FROM recordings WHERE ($1::text IS NULL OR user_email = $1) AND ($2::text IS NULL OR host = $2)
        AND ($3::bigint IS NULL OR started_at >= $3) AND ($4::bigint IS NULL OR started_at < $4)
        ORDER BY started_at DESC, id LIMIT $5`,
      [query.userEmail ?? null, query.host ?? null, query.since ?? null, query.until ?? null, query.limit],
    )
    return rows.map(toRecording)
  }

  async chunks(id: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; data: string }>> {
    const rows = await this.db.rows('SELECT seq, data FROM recording_chunks WHERE recording_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [id, afterSeq, limit])
    return rows.map((row) => ({ seq: Number(row.seq), data: String(row.data) }))
  }

  async purge(startedBefore: number): Promise<number> {
    const result = await this.db.query('DELETE FROM recordings WHERE started_at < $1', [startedBefore])
    return result.rowCount ?? 0
  }
}
