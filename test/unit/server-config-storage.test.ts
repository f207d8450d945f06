// The `storage:` section of the server config: SQLite by default, PostgreSQL by URL (short or long form),
// and clear errors that name the file, the key path and the fix.
import { beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { parseConfigText } from '../../src/server/config/load-config.js'
import { hashPassword } from '../../src/server/identity/password-hash.js'

let passwordHash: string
beforeAll(async () => {
  passwordHash = await hashPassword('correct horse battery staple', { N: 1024, r: 8, p: 1 })
})

function configWith(storage: unknown): string {
  return stringify({
    ...(storage === undefined ? {} : { storage }),
    identity: { local: { users: [{ username: 'alice', email: 'alice@example.com', password_hash: passwordHash }] } },
  })
}
const parse = (storage: unknown): ReturnType<typeof parseConfigText> => parseConfigText(configWith(storage), '/etc/jitssh/config.yaml')
function errorOf(storage: unknown): string {
  try {
    parse(storage)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('expected a config error')
}

describe('storage', () => {
  it('defaults to SQLite next to the config file, and resolves a relative sqlite path against it', () => {
    expect(parse(undefined).storage).toEqual({ kind: 'sqlite', sqlite: '/etc/jitssh/jitssh.db', heartbeatMs: 5_000 })
    expect(parse({ sqlite: 'data/j.db', heartbeat: '1s' }).storage).toEqual({ kind: 'sqlite', sqlite: '/etc/jitssh/data/j.db', heartbeatMs: 1_000 })
  })

  it('takes PostgreSQL as a URL, or as {url, pool_size}', () => {
    expect(parse({ postgres: 'postgres://jitssh@db.internal:5432/jitssh' }).storage).toEqual({ kind: 'postgres', url: 'postgres://jitssh@db.internal:5432/jitssh', poolSize: 10, heartbeatMs: 5_000 })
    expect(parse({ postgres: { url: 'postgresql://db/jitssh?sslmode=verify-full', pool_size: 25 } }).storage).toEqual({ kind: 'postgres', url: 'postgresql://db/jitssh?sslmode=verify-full', poolSize: 25, heartbeatMs: 5_000 })
  })

  it.each([
    ['both kinds', { sqlite: 'j.db', postgres: 'postgres://db/jitssh' }, 'config.yaml: storage: configure one of "sqlite" or "postgres", not both'],
    ['an unknown kind', { mysql: 'x' }, 'config.yaml: storage.mysql: unknown key (expected one of: sqlite, postgres, heartbeat)'],
    ['not a postgres URL', { postgres: 'mysql://db/jitssh' }, 'config.yaml: storage.postgres: expected a URL like "postgres://jitssh@db.example.com:5432/jitssh" (password in the URL or in PGPASSWORD)'],
    ['no database name', { postgres: 'postgres://db.internal' }, 'config.yaml: storage.postgres: expected a URL like'],
    ['a URL missing in the long form', { postgres: { pool_size: 5 } }, 'config.yaml: storage.postgres.url: is required'],
    ['a bad pool size', { postgres: { url: 'postgres://db/j', pool_size: 0 } }, 'config.yaml: storage.postgres.pool_size: expected a whole number from 1 to 1000'],
    ['a typo in the long form', { postgres: { url: 'postgres://db/j', poolsize: 5 } }, 'config.yaml: storage.postgres.poolsize: unknown key (expected one of: url, pool_size)'],
    ['a database under /proc', { sqlite: '/proc/x/jitssh.db' }, 'config.yaml: storage.sqlite: /proc/x/jitssh.db is under /proc, a kernel file system'],
    ['a database in /dev', { sqlite: '/dev/jitssh.db' }, 'config.yaml: storage.sqlite: /dev/jitssh.db is under /dev, a kernel file system'],
    ['a database under /sys, reached by a relative path', { sqlite: '../../../../../../../../sys/j.db' }, 'config.yaml: storage.sqlite: /sys/j.db is under /sys'],
    ['a directory', { sqlite: 'data/' }, 'config.yaml: storage.sqlite: names a directory: name the database file in it'],
    ['a heartbeat too fast', { sqlite: 'j.db', heartbeat: '100ms' }, 'config.yaml: storage.heartbeat: must be at least 0.2s'],
    ['a heartbeat too slow', { sqlite: 'j.db', heartbeat: '5m' }, 'config.yaml: storage.heartbeat: must be at most 60s'],
  ])('refuses %s', (_what, storage, message) => {
    expect(errorOf(storage)).toContain(message.replace('config.yaml', '/etc/jitssh/config.yaml'))
  })
})
