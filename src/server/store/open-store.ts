import type { StorageConfig } from '../config/types.js'
import { SqliteStore } from './sqlite/sqlite-store.js'
import type { Store } from './store.js'

/**
 * The configured store. `listenForRevocations`: the server hears other replicas' revocations (PostgreSQL
 * LISTEN); one-shot CLI commands do not. PostgreSQL support (and `pg`) loads only when configured.
 */
export async function openStore(storage: StorageConfig, options: { listenForRevocations: boolean }): Promise<Store> {
  if (storage.kind === 'sqlite') return new SqliteStore(storage.sqlite)
  const { PostgresStore } = await import('./postgres/postgres-store.js')
  return PostgresStore.open({ url: storage.url, poolSize: storage.poolSize, listenForRevocations: options.listenForRevocations })
}
