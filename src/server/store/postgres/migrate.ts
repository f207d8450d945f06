import { MIGRATIONS } from '../migrations.js'
import type { PostgresDatabase } from './database.js'

/** pg_advisory_xact_lock key for schema changes ("jitssh migrate"): replicas starting together take turns. */
const MIGRATION_LOCK = 0x6a69_7473_7302

/** Applies the versions this database has not seen, all in one transaction (PostgreSQL DDL is transactional). */
export async function migratePostgres(db: PostgresDatabase): Promise<void> {
  await db.transaction(async (client) => {
    await client.query('CREATE TABLE IF NOT EXISTS jitssh_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)')
    const applied = new Set((await client.query<{ version: number }>('SELECT version FROM jitssh_schema_migrations')).rows.map((row) => row.version))
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue
      if (migration.postgres.trim() !== '') await client.query(migration.postgres)
      await client.query('INSERT INTO jitssh_schema_migrations (version, applied_at) VALUES ($1, $2)', [migration.version, new Date().toISOString()])
    }
  }, `BEGIN; SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
}
