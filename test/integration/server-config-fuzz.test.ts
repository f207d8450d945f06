// Issue 18, as a property: a mutated config (any key removed, renamed or set to a value of another type, a
// hostile string, a path to a directory, a device, a FIFO, a symlink loop, a non-PEM or non-database file, a
// kernel file system; YAML with tags, alias bombs or aliases without anchors) is either valid or an
// ERR_INVALID_CONFIG whose message names the file and the key path — from loadConfig and from `jitssh-server
// check`, which also loads the keys, opens the database and builds the server. Nothing else, and no hang.
// Seeded; each property stops after a few seconds. To search longer:
// CONFIG_FUZZ_MS=60000 CONFIG_FUZZ_SEED=7 npx vitest run test/integration/server-config-fuzz.test.ts
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { isJitsshError } from '../../src/shared/errors.js'
import { generateAuditKeys } from '../../src/server/audit/audit-keys.js'
import { generateServerKeys } from '../../src/server/ca/server-keys.js'
import { loadConfig } from '../../src/server/config/load-config.js'
import { hashPassword } from '../../src/server/identity/password-hash.js'
import { runServerCli } from '../helpers/server.js'

const TIME_LIMIT_MS = Number(process.env.CONFIG_FUZZ_MS ?? 4_000)
const SEED = process.env.CONFIG_FUZZ_SEED === undefined ? undefined : Number(process.env.CONFIG_FUZZ_SEED)

const TOP_LEVEL = [
  'public_url', 'listen', 'tls', 'behind_tls_proxy', 'trusted_proxies', 'storage', 'keys_dir', 'identity', 'sessions', 'oauth', 'certificates', 'policy',
  'targets', 'admins', 'rate_limits', 'bastion', 'metrics', 'audit', 'connections', 'notifications', 'log_level',
]
/** Keys whose values are paths: mutated only to the prepared ones below (relative to the config, or under /proc, /sys), never anywhere else on this machine. */
const PATH_KEYS = new Set(['storage.sqlite', 'keys_dir', 'tls.cert', 'tls.key', 'audit.checkpoints.file'])
const PATHS = [
  'data/jitssh.db', 'jitssh.db', 'a directory', 'a directory/', 'not-pem.txt', 'not-pem.txt/below.db', 'fifo', 'loop', 'loop/j.db', 'to-proc/j.db', 'deep/a/b/c/d/e/j.db',
  '/proc/jitssh-fuzz/j.db', '/proc/jitssh-fuzz', '/proc', '/sys/jitssh-fuzz/j.db', 'other-key.pem', 'cert.pem', 'key.pem', 'keys', 'keys/user_ca', '', '.', 'not-db.db',
]

let dir: string
let configPath: string
let base: Record<string, unknown>

beforeAll(async () => {
  // A nested directory: "../" in a mutated path stays inside the temp dir.
  dir = join(mkdtempSync(join(tmpdir(), 'jitssh-config-fuzz-')), 'one', 'two')
  mkdirSync(dir, { recursive: true })
  generateServerKeys(join(dir, 'keys'))
  generateAuditKeys(join(dir, 'keys'))
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' })
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=access.example.com', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', join(dir, 'other-key.pem')])
  writeFileSync(join(dir, 'not-pem.txt'), 'not a PEM file\n')
  writeFileSync(join(dir, 'not-db.db'), 'not a database '.repeat(100))
  mkdirSync(join(dir, 'a directory'))
  execFileSync('mkfifo', [join(dir, 'fifo')])
  symlinkSync(join(dir, 'loop'), join(dir, 'loop'))
  symlinkSync('/proc/jitssh-fuzz', join(dir, 'to-proc'))
  const passwordHash = await hashPassword('correct horse battery staple', { N: 1024, r: 8, p: 1 })
  base = {
    public_url: 'https://access.example.com', listen: '127.0.0.1:0', tls: { cert: 'cert.pem', key: 'key.pem' }, trusted_proxies: ['10.0.0.0/8', 'loopback'],
    storage: { sqlite: 'data/jitssh.db' }, keys_dir: 'keys',
    identity: { local: { users: [{ username: 'alice', email: 'alice@example.com', groups: ['dev'], password_hash: passwordHash }, { username: 'bob', email: 'bob@example.com', groups: ['ops'], password_hash: passwordHash }] } },
    sessions: { lifetime: '12h', access_token_ttl: '10m', browser_lifetime: '1h' }, oauth: { code_ttl: '60s', device_code_ttl: '10m', device_poll_interval: '5s' },
    certificates: { default_ttl: '1h', backdate: '60s', source_address: ['10.0.0.2/32'], forbidden_principals: ['admin'] },
    policy: [
      { name: 'dev', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}', 'deploy'], max_ttl: '1h', extensions: ['permit-pty'], when: { source_networks: ['10.0.0.0/8'], days: ['mon-fri'], hours: ['08:00-18:00'], time_zone: 'Europe/Berlin', max_auth_age: '8h' } },
      { name: 'vault', groups: ['dev'], hosts: ['vault.internal'], principals: ['{username}'], request: { max_duration: '4h', approvals: 1, approvers: { groups: ['ops'] }, reason: 'optional', break_glass: { groups: ['ops'] } } },
      { name: 'no-db', effect: 'deny', groups: ['contractors'], hosts: ['db-*'] },
    ],
    targets: { 'vm.example.com': '10.0.0.5:22', 'vault.internal': '10.0.0.6:2222' }, admins: { users: ['bob'], groups: ['ops'] },
    rate_limits: { sign_per_minute: 1200, login_window: '15m', unauthenticated_audit_per_minute: 120 }, bastion: { connect_timeout: '10s', keepalive: '30s' },
    metrics: { enabled: true, token: 'a'.repeat(32) }, audit: { checkpoints: { every_events: 1000, interval: '10s', file: 'audit-checkpoints.jsonl', stdout: false } },
    connections: { headers_timeout: '10s', request_timeout: '30s', per_ip: 256 }, notifications: { webhooks: [{ url: 'https://hooks.example.com/x', secret: 's'.repeat(32), events: ['request.created'] }] },
    log_level: 'info',
  }
  configPath = join(dir, 'config.yaml')
})
afterAll(() => {
  if (dir) rmSync(join(dir, '..', '..'), { recursive: true, force: true })
})

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, 0, -1, 1.5, 1e21, true, false, '', ' ', [], {}, [null], [[]], { a: 1 }, 'x'.repeat(5000), '\u0000', 'a\u0000b', '\u202e', '\x1b[2J', 'NaN', '1e999',
    '15', '15m', '-5m', '99999999d', '127.0.0.1:8443', '[::1]:0', 'http://access.example.com', 'https://', 'postgres://', '*', '**', '{email_local}', 'root', 'verbose', 'garbage', '10.0.0.0/33', '::1/129'),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.jsonValue({ maxDepth: 2 }),
)

/** A path into `value` (keys and indexes), chosen at random, up to `depth` deep. */
function pathInto(value: unknown, choices: number[], depth = 6): Array<string | number> {
  const path: Array<string | number> = []
  let node = value
  for (const choice of choices.slice(0, depth)) {
    if (Array.isArray(node) && node.length > 0) {
      const index = choice % node.length
      path.push(index)
      node = node[index]
    } else if (node !== null && typeof node === 'object' && Object.keys(node).length > 0) {
      const keys = Object.keys(node)
      const key = keys[choice % keys.length]!
      path.push(key)
      node = (node as Record<string, unknown>)[key]
    } else {
      break
    }
    if (choice % 5 === 0) break // stop early now and then: mutate a whole section
  }
  return path
}

type Mutation = { kind: 'set' | 'delete' | 'rename' | 'wrap'; choices: number[]; value: unknown; name: string }
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('set', 'set', 'set', 'delete', 'rename', 'wrap'),
  choices: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  value: fc.oneof({ weight: 3, arbitrary: hostileValue }, { weight: 2, arbitrary: fc.constantFrom(...PATHS) }),
  name: fc.oneof(fc.constantFrom('max_tll', 'sqlite ', 'Listen', '', '__proto__', 'constructor', 'users', 'when', 'x'), fc.string({ maxLength: 8 })),
})

/** YAML that no object can express: tags, anchors and aliases, broken syntax. */
const textMutation = fc.constantFrom(
  '', '', '', '', 'extra: *nowhere\n', 'anchors: &a [1, 2]\nlisten: *a\n', 'x: !!binary aGVsbG8=\n', 'x: !!set {a, b}\n', 'x: !!omap [a: 1]\n', 'x: !custom 1\n', 'listen: !!int 5\n',
  'a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
  'policy:\n  - &r {name: x}\n  - *r\n', '\t', '{', '- a\n', '%YAML 1.1\n---\nlisten: 127.0.0.1:0\n', '---\n---\n', '? [a, b]\n: c\n', '<<: {listen: 1}\n', 'identity: !!omap [local: {}]\n',
)

function applyMutation(config: Record<string, unknown>, change: Mutation): void {
  const path = pathInto(config, change.choices)
  if (path.length === 0) return
  const parentPath = path.slice(0, -1)
  const last = path[path.length - 1]!
  let parent: unknown = config
  for (const step of parentPath) parent = (parent as Record<string | number, unknown>)[step]
  const holder = parent as Record<string | number, unknown>
  const keyPath = path.filter((step): step is string => typeof step === 'string').join('.')
  // A copy: the arbitraries' constants ([], {}) are shared between runs and must not be changed by the next mutation.
  let value = structuredClone(change.value)
  // Paths only to the prepared places; any other string for a path key is made relative (inside the temp dir).
  if (PATH_KEYS.has(keyPath) && typeof value === 'string' && !PATHS.includes(value)) value = `fuzz-${Buffer.from(value).toString('hex').slice(0, 32)}`
  if (!PATH_KEYS.has(keyPath) && typeof value === 'string' && PATHS.includes(value) && value.startsWith('/')) value = 'garbage'
  switch (change.kind) {
    case 'set':
      holder[last] = value
      break
    case 'delete':
      if (Array.isArray(holder)) holder.splice(Number(last), 1)
      else delete holder[last]
      break
    case 'rename':
      if (!Array.isArray(holder) && !PATH_KEYS.has(keyPath)) {
        holder[change.name] = holder[last]
        delete holder[last]
      }
      break
    case 'wrap':
      holder[last] = [holder[last]]
      break
  }
}

/** The config text for these mutations (written to configPath). */
function mutatedText(changes: Mutation[], text: string): string {
  const config = structuredClone(base)
  for (const change of changes) applyMutation(config, change)
  const yaml = stringify(config, { aliasDuplicateObjects: false })
  return text === '' ? yaml : text.startsWith('%') || text.startsWith('---') ? text + yaml : `${yaml}${text}`
}

/**
 * An error message that names the file and where in it: `<file>: <key path>: <problem>` (a known top-level
 * key, or a key the mutation put there: renamed ones are named as they are), `(top level)`, or YAML's line.
 */
function namesFileAndKey(message: string): boolean {
  const rest = message.startsWith(configPath) ? message.slice(configPath.length) : undefined
  if (rest === undefined || rest.includes('\n') || /\[object Object\]|: undefined\b/.test(message)) return false
  if (/^(:\d+:\d+)?: not valid YAML: ./.test(rest)) return true
  const key = TOP_LEVEL.find((name) => rest.startsWith(`: ${name}`)) ?? (rest.startsWith(': (top level): ') ? '(top level)' : undefined)
  if (key !== undefined) return /^([.[][^\n]*)?: ./.test(rest.slice(2 + key.length))
  return /: unknown key \(expected one of: /.test(rest)
}

const settings = (seed: number): fc.Parameters<[Mutation[], string]> => ({ seed: SEED ?? seed, numRuns: process.env.CONFIG_FUZZ_MS ? 1e7 : 100_000, interruptAfterTimeLimit: TIME_LIMIT_MS })
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 })

describe('a mutated config (property)', () => {
  it('base config is valid (so every failure below comes from a mutation)', async () => {
    writeFileSync(configPath, mutatedText([], ''))
    expect(loadConfig(configPath).policy).toHaveLength(3)
    expect(await runServerCli(['check', '--config', configPath])).toMatchObject({ code: 0 })
  })

  it('loadConfig: a valid config, or ERR_INVALID_CONFIG naming the file and the key path', async () => {
    let invalid = 0
    await fc.assert(
      fc.asyncProperty(mutations, textMutation, async (changes, text) => {
        writeFileSync(configPath, mutatedText(changes, text))
        try {
          loadConfig(configPath)
        } catch (error) {
          invalid++
          expect(isJitsshError(error, 'ERR_INVALID_CONFIG'), String(error)).toBe(true)
          expect(namesFileAndKey((error as Error).message), (error as Error).message).toBe(true)
        }
      }),
      settings(1811),
    )
    expect(invalid).toBeGreaterThan(10)
  }, TIME_LIMIT_MS + 20_000)

  it('jitssh-server check: exit 0, or exit 1 with one line naming the file and the key path', async () => {
    await fc.assert(
      fc.asyncProperty(mutations, textMutation, async (changes, text) => {
        writeFileSync(configPath, mutatedText(changes, text))
        const result = await runServerCli(['check', '--config', configPath])
        if (result.code === 0) return
        const lines = result.stderr.trimEnd().split('\n')
        expect(result.code, result.stderr).toBe(1)
        expect(lines, result.stderr).toHaveLength(1)
        expect(namesFileAndKey(lines[0]!.replace(/^jitssh-server: /, '')), result.stderr).toBe(true)
      }),
      settings(1812),
    )
  }, TIME_LIMIT_MS + 20_000)
})
