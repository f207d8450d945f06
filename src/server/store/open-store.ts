import { JitsshError, isJitsshError } from '../../shared/errors.js'
import type { StorageConfig } from '../config/types.js'
import { SqliteStore } from './sqlite/sqlite-store.js'
import type { Store } from './store.js'

/**
 * The configured store. `listenForRevocations`: the server hears other replicas' revocations (PostgreSQL
 * LISTEN); one-shot CLI commands do not. PostgreSQL support (and `pg`) loads only when configured.
 * A store that cannot be opened is an ERR_INVALID_CONFIG naming `source` (the config file), the key and why.
 */
export async function openStore(storage: StorageConfig, options: { listenForRevocations: boolean; source?: string }): Promise<Store> {
  const where = `${options.source === undefined ? '' : `${options.source}: `}storage.${storage.kind}`
  if (storage.kind === 'sqlite') {
    try {
      return new SqliteStore(storage.sqlite)
    } catch (error) {
      throw new JitsshError('ERR_INVALID_CONFIG', `${where}: ${isJitsshError(error) ? error.message : `cannot open ${storage.sqlite}: ${(error as Error).message}`}`, { cause: error })
    }
  }
  const { PostgresStore } = await import('./postgres/postgres-store.js')
  try {
    return await PostgresStore.open({ url: storage.url, poolSize: storage.poolSize, listenForRevocations: options.listenForRevocations })
  } catch (error) {
    // node-postgres's messages name the host, user or database, never the password.
    throw new JitsshError('ERR_INVALID_CONFIG', `${where}: cannot open the database: ${(error as Error).message}`, { cause: error })
  }
}
