// Both dialects migrate to the same schema: the same tables, columns (types mapped), NOT NULLs, primary
// keys, indexes and unique constraints. A migration step written for one dialect only fails here.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIGRATIONS } from '../../src/server/store/migrations.js'
import { PostgresStore } from '../../src/server/store/postgres/postgres-store.js'
import { SqliteStore } from '../../src/server/store/sqlite/sqlite-store.js'
import { postgresSchema, schemaDifferences, sqliteSchema, type SchemaShape } from '../helpers/schema.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'

describe('schema parity between SQLite and PostgreSQL', () => {
  let postgres: TestPostgres
  let dir: string
  let sqlite: SchemaShape
  let postgresql: SchemaShape

  beforeAll(async () => {
    postgres = await startPostgres()
    dir = mkdtempSync(join(tmpdir(), 'jitssh-parity-'))
    const lite = new SqliteStore(join(dir, 'jitssh.db'))
    sqlite = sqliteSchema(lite.db)
    await lite.close()
    const url = await postgres.createDatabase()
    const store = await PostgresStore.open({ url, poolSize: 1, listenForRevocations: false })
    await store.close()
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      postgresql = await postgresSchema(client)
    } finally {
      await client.end()
    }
  })
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true })
    await postgres?.stop()
  })

  it('migrates both dialects to the same tables, columns, keys and indexes', () => {
    expect(Object.keys(sqlite).length).toBeGreaterThan(5)
    expect(schemaDifferences(sqlite, postgresql)).toEqual([])
  })

  it('has one version sequence: 1, 2, 3, ... with both dialects written for each step', () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_migration, index) => index + 1))
    for (const migration of MIGRATIONS) expect(migration.purpose.length, `version ${migration.version}`).toBeGreaterThan(0)
  })

  it('upgrades databases migrated by the two separate lists of before (SQLite at 1-3, PostgreSQL at 1-2) to the same schema', async () => {
    // SQLite as it was: versions 1-3 applied, the audit user column still named `user`.
    const Database = (await import('better-sqlite3')).default
    const file = join(dir, 'old.db')
    const old = new Database(file)
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
    for (const migration of MIGRATIONS.slice(0, 3)) {
      old.exec(migration.sqlite)
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(migration.version, 'then')
    }
    old.prepare(`INSERT INTO audit_events (seq, time, type, user, outcome, detail, prev_hash, hash) VALUES (1, 't', 'login', 'alice@example.com', 'ok', '{}', 'p', 'h')`).run()
    old.close()
    const upgraded = new SqliteStore(file)
    expect(schemaDifferences(sqliteSchema(upgraded.db), postgresql)).toEqual([])
    expect((await upgraded.audit.read(0, 10))[0]?.user).toBe('alice@example.com')
    await upgraded.close()

    // PostgreSQL as it was: its own version 1, and version 2 = the sessions_by_expires index.
    const url = await postgres.createDatabase()
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query('CREATE TABLE jitssh_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
      await client.query(MIGRATIONS[0]!.postgres)
      await client.query('CREATE INDEX sessions_by_expires ON sessions (expires_at)')
      await client.query(`INSERT INTO jitssh_schema_migrations VALUES (1, 'then'), (2, 'then')`)
      const store = await PostgresStore.open({ url, poolSize: 1, listenForRevocations: false })
      await store.close()
      expect(schemaDifferences(sqlite, await postgresSchema(client))).toEqual([])
      expect((await client.query('SELECT version FROM jitssh_schema_migrations ORDER BY version')).rows.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version))
    } finally {
      await client.end()
    }
  })

  it('names a column, an index or a table that only one dialect has', () => {
    const clone = (shape: SchemaShape): SchemaShape => structuredClone(shape)
    const extraColumn = clone(postgresql)
    extraColumn.sessions!.columns.note = { type: 'text', notNull: false, primaryKey: false }
    expect(schemaDifferences(sqlite, extraColumn)).toEqual(['column sessions.note: only in PostgreSQL'])

    const otherType = clone(sqlite)
    otherType.sessions!.columns.created_at = { type: 'text', notNull: true, primaryKey: false }
    expect(schemaDifferences(otherType, postgresql)).toEqual([
      'column sessions.created_at: SQLite {"type":"text","notNull":true,"primaryKey":false} vs PostgreSQL {"type":"integer","notNull":true,"primaryKey":false}',
    ])

    const missingIndex = clone(sqlite)
    delete missingIndex.sessions!.indexes.sessions_by_email
    expect(schemaDifferences(missingIndex, postgresql)).toEqual(['index sessions_by_email on sessions: only in PostgreSQL'])

    const extraTable = clone(sqlite)
    extraTable.grants = { columns: {}, indexes: {}, uniques: [] }
    expect(schemaDifferences(extraTable, postgresql)).toEqual(['table grants: only in SQLite'])
  })
})
