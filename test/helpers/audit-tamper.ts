/**
 * What an attacker with write access to the database (but not to keys_dir) can do to the audit chain:
 * read the rows, get the append-only triggers out of the way, and write back any rows they like, re-hashed
 * with the published formula (SHA-256 of the canonical JSON of the columns) or an HMAC key of their own.
 *
 *   const rows = readAuditRows(file)                   // SQLite; readAuditRowsFromPostgres(url) likewise
 *   writeAuditRows(file, resealFrom(rows.filter((row) => row.seq !== 5), 4))   // delete seq 5, renumber, re-hash
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'
import pg from 'pg'
import { canonicalJson } from '../../src/server/audit/audit-chain.js'

export interface RawAuditRow {
  seq: number
  time: string
  type: string
  user_email: string | null
  session_id: string | null
  host: string | null
  outcome: string
  detail: string
  prev_hash: string
  hash: string
}

export function readAuditRows(file: string): RawAuditRow[] {
  const db = new Database(file)
  try {
    return db.prepare('SELECT * FROM audit_events ORDER BY seq').all() as RawAuditRow[]
  } finally {
    db.close()
  }
}

/** Replaces every row of audit_events with `rows` (the triggers that forbid it are dropped first). */
export function writeAuditRows(file: string, rows: RawAuditRow[]): void {
  const db = new Database(file)
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete')
    db.transaction(() => {
      db.exec('DELETE FROM audit_events')
      const insert = db.prepare(`INSERT INTO audit_events (seq, time, type, user_email, session_id, host, outcome, detail, prev_hash, hash)
        VALUES (@seq, @time, @type, @user_email, @session_id, @host, @outcome, @detail, @prev_hash, @hash)`)
      for (const row of rows) insert.run(row)
    })()
  } finally {
    db.close()
  }
}

const INSERT_ROW = `INSERT INTO audit_events (seq, time, type, user_email, session_id, host, outcome, detail, prev_hash, hash)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

export async function readAuditRowsFromPostgres(url: string): Promise<RawAuditRow[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<RawAuditRow & { seq: string }>('SELECT * FROM audit_events ORDER BY seq')
    return rows.map((row) => ({ ...row, seq: Number(row.seq) }))
  } finally {
    await client.end()
  }
}

/** As writeAuditRows, on PostgreSQL: the table owner switches its triggers off (DISABLE TRIGGER USER) first. */
export async function writeAuditRowsToPostgres(url: string, rows: RawAuditRow[]): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('BEGIN')
    await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER')
    await client.query('DELETE FROM audit_events')
    for (const row of rows) {
      await client.query(INSERT_ROW, [row.seq, row.time, row.type, row.user_email, row.session_id, row.host, row.outcome, row.detail, row.prev_hash, row.hash])
    }
    await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER')
    await client.query('COMMIT')
  } finally {
    await client.end()
  }
}

/** The columns as the chain hashes them, in order. */
function hashedColumns(row: RawAuditRow): unknown[] {
  return [row.seq, row.time, row.type, row.user_email, row.session_id, row.host, row.outcome, JSON.parse(row.detail), row.prev_hash]
}

/** SHA-256 of the published encoding: what anyone can compute for a row. */
export function sha256Hash(row: RawAuditRow): string {
  return createHash('sha256').update(canonicalJson(hashedColumns(row))).digest('hex')
}

/** The attacker's own HMAC key: they cannot read keys_dir/audit_key, so they make one up. */
const attackerKey = randomBytes(32)

/**
 * A keyed-looking hash under the attacker's own key, keeping the prefix and key id of the row's old hash
 * (`hmac-sha256:<key id>:`): the best an attacker without the real key can do.
 */
export function ownKeyHash(row: RawAuditRow, like: string): string {
  const prefix = /^(hmac-sha256:[0-9a-f]+:)/.exec(like)?.[1] ?? 'hmac-sha256:0000000000000000:'
  return `${prefix}${createHmac('sha256', attackerKey).update(canonicalJson(['jitssh.audit.v2', ...hashedColumns(row)])).digest('hex')}`
}

/**
 * Renumbers rows from index `from` on (seq = index + 1), links each to the one before and re-hashes it with
 * `hashOf` (sha256Hash or ownKeyHash): "delete a row and recompute the later hashes".
 */
export function resealFrom(rows: RawAuditRow[], from: number, hashOf: (row: RawAuditRow, like: string) => string): RawAuditRow[] {
  const out = rows.map((row) => ({ ...row }))
  for (let index = from; index < out.length; index++) {
    const row = out[index]!
    row.seq = index + 1
    row.prev_hash = index === 0 ? '0'.repeat(64) : out[index - 1]!.hash
    row.hash = hashOf(row, row.hash)
  }
  return out
}
