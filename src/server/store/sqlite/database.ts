import Database from 'better-sqlite3'
import { JitsshError } from '../../../shared/errors.js'
import { MIGRATIONS } from '../migrations.js'
import { assertStorable } from '../storable.js'
import { prepareDatabasePath } from './database-path.js'
import { SqliteWriteBatch } from './write-batch.js'

/**
 * One SQLite file (WAL, foreign keys, synchronous=FULL so an audit event is on disk before the response)
 * with a statement cache and a group-committing writer (write-batch.ts) that the role implementations share.
 * better-sqlite3 is synchronous; writes go through `write` so that every write of one event-loop turn shares
 * one transaction and one fsync.
 */
export class SqliteDatabase {
  readonly db: Database.Database
  private readonly batch: SqliteWriteBatch
  private readonly statements = new Map<string, Database.Statement>()

  /** Opens (or creates) `file`; a path or a file that cannot be a database is an ERR_INVALID_CONFIG saying why. */
  constructor(file: string) {
    if (file !== ':memory:') prepareDatabasePath(file)
    this.db = openDatabase(file)
    this.batch = new SqliteWriteBatch(this.db)
  }

  /** A prepared statement, prepared once per text, whose parameters are checked as PostgreSQL would (storable.ts). */
  sql(text: string): Database.Statement {
    let statement = this.statements.get(text)
    if (!statement) {
      statement = guardParameters(this.db.prepare(text))
      this.statements.set(text, statement)
    }
    return statement
  }

  /** Runs `run` in the next group commit; resolves after the commit. */
  write<T>(run: () => T): Promise<T> {
    return this.batch.write(run)
  }

  close(): void {
    this.batch.flush()
    this.db.close()
  }
}

function openDatabase(file: string): Database.Database {
  let db: Database.Database | undefined
  try {
    db = new Database(file)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    migrateSqlite(db)
    return db
  } catch (error) {
    try {
      db?.close()
    } catch {
      // The open error below is the one to report.
    }
    const code = (error as { code?: unknown }).code
    throw new JitsshError('ERR_INVALID_CONFIG', `cannot open ${file} as a SQLite database: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: error })
  }
}

/** `statement` with every way of running it checking its parameters first (one statement object: pluck() returns it). */
function guardParameters(statement: Database.Statement): Database.Statement {
  for (const method of ['run', 'get', 'all', 'iterate'] as const) {
    const original = statement[method].bind(statement) as (...params: unknown[]) => unknown
    Object.defineProperty(statement, method, {
      value: (...params: unknown[]) => {
        assertStorable(params)
        return original(...params)
      },
    })
  }
  return statement
}

/** Applies the versions of MIGRATIONS this file has not seen, each in its own transaction. */
function migrateSqlite(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[])
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue
    db.transaction(() => {
      if (migration.sqlite.trim() !== '') db.exec(migration.sqlite)
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, new Date().toISOString())
    }).immediate()
  }
}
