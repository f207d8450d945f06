import { resolve } from 'node:path'
import type { ConfigNode } from './config-node.js'
import { kernelFileSystemOf } from './kernel-paths.js'
import type { StorageConfig } from './types.js'

const DEFAULT_POOL_SIZE = 10
/** A replica silent for three heartbeats is taken for dead: 5 s makes that 15 s, for one UPDATE per replica every 5 s. */
const DEFAULT_HEARTBEAT_MS = 5_000

/**
 * `storage:` is one of
 *   sqlite: data/jitssh.db                       (the default, relative to the config file)
 *   postgres: postgres://jitssh@db.internal/jitssh
 *   postgres: { url: postgres://..., pool_size: 10 }
 * and `heartbeat: 5s` beside either (see StorageConfig).
 */
export function parseStorage(node: ConfigNode, baseDir: string): StorageConfig {
  node.onlyKeys(['sqlite', 'postgres', 'heartbeat'])
  const heartbeatMs = node.child('heartbeat').duration(DEFAULT_HEARTBEAT_MS, { min: 200, max: 60_000 })
  const sqlite = node.child('sqlite')
  const postgres = node.child('postgres')
  if (!sqlite.missing && !postgres.missing) node.fail('configure one of "sqlite" or "postgres", not both')
  if (postgres.missing) {
    const written = sqlite.string('jitssh.db')
    const file = resolve(baseDir, written)
    const kernel = kernelFileSystemOf(file)
    if (kernel) sqlite.fail(`${file} is under ${kernel}, a kernel file system: choose a directory on disk (e.g. /var/lib/jitssh/jitssh.db)`)
    if (/[/\\]$/.test(written)) sqlite.fail('names a directory: name the database file in it (e.g. data/jitssh.db)')
    return { kind: 'sqlite', sqlite: file, heartbeatMs }
  }

  const long = typeof postgres.value === 'object'
  if (long) postgres.onlyKeys(['url', 'pool_size'])
  const urlNode = long ? postgres.child('url') : postgres
  const url = urlNode.string()
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (!parsed || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') || !parsed.pathname.slice(1)) {
    urlNode.fail('expected a URL like "postgres://jitssh@db.example.com:5432/jitssh" (password in the URL or in PGPASSWORD)')
  }
  const poolSize = long ? postgres.child('pool_size').integer(DEFAULT_POOL_SIZE, 1, 1000) : DEFAULT_POOL_SIZE
  return { kind: 'postgres', url, poolSize, heartbeatMs }
}
