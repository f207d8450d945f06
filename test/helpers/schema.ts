/**
 * The schema of a migrated database as plain data, for the parity test between SQLite and PostgreSQL:
 * tables, columns (type class, NOT NULL, primary key), named indexes (columns, unique, partial) and unique
 * constraints. Types are mapped to classes: SQLite INTEGER and PostgreSQL BIGINT / INTEGER / BOOLEAN are
 * `integer` (SQLite keeps booleans as 0/1); TEXT is `text`.
 */
import type Database from 'better-sqlite3'
import type pg from 'pg'

export interface ColumnShape {
  type: string
  notNull: boolean
  primaryKey: boolean
}

export interface IndexShape {
  columns: string[]
  unique: boolean
  partial: boolean
}

export interface TableShape {
  columns: Record<string, ColumnShape>
  /** Indexes created by name (CREATE INDEX), by name. */
  indexes: Record<string, IndexShape>
  /** Column lists of UNIQUE constraints (not primary keys), each as "a,b". */
  uniques: string[]
}

export type SchemaShape = Record<string, TableShape>

/** Bookkeeping tables that differ by design (each dialect records its versions in its own table). */
const IGNORED_TABLES = new Set(['schema_migrations', 'jitssh_schema_migrations'])

function typeClass(type: string): string {
  const t = type.toLowerCase()
  if (/^(integer|int|bigint|smallint|boolean)$/.test(t)) return 'integer'
  if (/^(text|character varying|varchar)$/.test(t)) return 'text'
  return t
}

export function sqliteSchema(db: Database.Database): SchemaShape {
  const shape: SchemaShape = {}
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]
  for (const table of tables) {
    if (IGNORED_TABLES.has(table)) continue
    const columns: Record<string, ColumnShape> = {}
    for (const column of db.prepare(`PRAGMA table_info(${JSON.stringify(table)})`).all() as Array<{ name: string; type: string; notnull: number; pk: number }>) {
      columns[column.name] = { type: typeClass(column.type), notNull: column.notnull === 1 || column.pk > 0, primaryKey: column.pk > 0 }
    }
    const indexes: Record<string, IndexShape> = {}
    const uniques: string[] = []
    for (const index of db.prepare(`PRAGMA index_list(${JSON.stringify(table)})`).all() as Array<{ name: string; unique: number; origin: string; partial: number }>) {
      const indexColumns = (db.prepare(`PRAGMA index_info(${JSON.stringify(index.name)})`).all() as Array<{ seqno: number; name: string }>)
        .sort((a, b) => a.seqno - b.seqno)
        .map((column) => column.name)
      if (index.origin === 'pk') continue
      if (index.origin === 'u') uniques.push(indexColumns.join(','))
      else indexes[index.name] = { columns: indexColumns, unique: index.unique === 1, partial: index.partial === 1 }
    }
    shape[table] = { columns, indexes, uniques: uniques.sort() }
  }
  return shape
}

export async function postgresSchema(client: pg.Client | pg.Pool): Promise<SchemaShape> {
  const shape: SchemaShape = {}
  const columns = await client.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
    `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  )
  const indexes = await client.query<{ name: string; table_name: string; is_unique: boolean; is_primary: boolean; partial: boolean; is_constraint: boolean; columns: string[] }>(
    `SELECT i.relname AS name, t.relname AS table_name, ix.indisunique AS is_unique, ix.indisprimary AS is_primary,
        ix.indpred IS NOT NULL AS partial,
        EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) AS is_constraint,
        (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS columns
      FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()`,
  )
  const primaryKeys = new Set(indexes.rows.filter((index) => index.is_primary).flatMap((index) => index.columns.map((column) => `${index.table_name}.${column}`)))
  for (const row of columns.rows) {
    if (IGNORED_TABLES.has(row.table_name)) continue
    const table = (shape[row.table_name] ??= { columns: {}, indexes: {}, uniques: [] })
    const primaryKey = primaryKeys.has(`${row.table_name}.${row.column_name}`)
    table.columns[row.column_name] = { type: typeClass(row.data_type), notNull: row.is_nullable === 'NO' || primaryKey, primaryKey }
  }
  for (const index of indexes.rows) {
    const table = shape[index.table_name]
    if (!table || index.is_primary) continue
    if (index.is_constraint) table.uniques.push(index.columns.join(','))
    else table.indexes[index.name] = { columns: index.columns, unique: index.is_unique, partial: index.partial }
  }
  for (const table of Object.values(shape)) table.uniques.sort()
  return shape
}

/** Every difference between two schemas, one line each (empty when they match). */
export function schemaDifferences(left: SchemaShape, right: SchemaShape, names: [string, string] = ['SQLite', 'PostgreSQL']): string[] {
  const out: string[] = []
  const [l, r] = names
  const keys = (a: object, b: object): string[] => [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
  for (const table of keys(left, right)) {
    const a = left[table]
    const b = right[table]
    if (!a || !b) {
      out.push(`table ${table}: only in ${a ? l : r}`)
      continue
    }
    for (const column of keys(a.columns, b.columns)) {
      const x = a.columns[column]
      const y = b.columns[column]
      if (!x || !y) out.push(`column ${table}.${column}: only in ${x ? l : r}`)
      else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`column ${table}.${column}: ${l} ${JSON.stringify(x)} vs ${r} ${JSON.stringify(y)}`)
    }
    for (const index of keys(a.indexes, b.indexes)) {
      const x = a.indexes[index]
      const y = b.indexes[index]
      if (!x || !y) out.push(`index ${index} on ${table}: only in ${x ? l : r}`)
      else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`index ${index} on ${table}: ${l} ${JSON.stringify(x)} vs ${r} ${JSON.stringify(y)}`)
    }
    if (JSON.stringify(a.uniques) !== JSON.stringify(b.uniques)) out.push(`unique constraints of ${table}: ${l} [${a.uniques.join('; ')}] vs ${r} [${b.uniques.join('; ')}]`)
  }
  return out
}
