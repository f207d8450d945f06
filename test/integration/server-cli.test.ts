// The jitssh-server command line, in-process with buffers: init (keys 0600, refuses to overwrite),
// hash-password, check / start with config errors that name the file, key path and problem, and
// `audit verify` on a real chain, intact and tampered.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { verifyPassword } from '../../src/server/identity/password-hash.js'
import { keyedAuditHash } from '../../src/server/audit/audit-chain.js'
import { formatPublicKey, generateKeyPair, parsePrivateKey } from '../../src/ssh/keys.js'
import { auditKeysOf } from '../helpers/audit.js'
import { TEST_PASSWORD, loginWithPassword, runServerCli, startTestServer, writeTestConfig } from '../helpers/server.js'
import { REPO_ROOT } from '../helpers/stack.js'

const cli = runServerCli

const tempDirs: string[] = []
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'jitssh-server-cli-'))
  tempDirs.push(dir)
  return dir
}
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

describe('jitssh-server init', () => {
  it('writes a commented config that validates, CA keys (0600) and a token-signing key, and prints the first password', async () => {
    const dir = tempDir()
    const result = await cli(['init', dir, '--user', 'root', '--email', 'root@example.com'])
    expect(result.code).toBe(0)
    const password = /has the password: (\S+)/.exec(result.stderr)?.[1]
    expect(password).toBeDefined()
    for (const name of ['user_ca', 'host_ca', 'token_signing_key.pem', 'audit_key', 'audit_checkpoint_key.pem']) expect(statSync(join(dir, 'keys', name)).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(dir, 'keys', 'audit_key'))).toHaveLength(32)
    expect(statSync(join(dir, 'config.yaml')).mode & 0o777).toBe(0o600)
    const userCa = parsePrivateKey(readFileSync(join(dir, 'keys', 'user_ca'), 'utf8'))
    expect(readFileSync(join(dir, 'keys', 'user_ca.pub'), 'utf8').trim()).toBe(formatPublicKey(userCa.publicKey, 'jitssh-user-ca'))
    const config = readFileSync(join(dir, 'config.yaml'), 'utf8')
    expect(config).toMatch(/^# jitssh-server configuration/)
    const hash = /password_hash: "([^"]+)"/.exec(config)![1]!
    expect(await verifyPassword(password!, hash)).toBe(true)
    expect(await cli(['check', '--config', join(dir, 'config.yaml')])).toMatchObject({ code: 0, stderr: expect.stringMatching(/: ok \(1 policy rules, 0 targets\)/) })
    // start listens (the config says 127.0.0.1:8443; use a free port) and stops on the signal.
    writeFileSync(join(dir, 'config.yaml'), config.replace('listen: 127.0.0.1:8443', 'listen: 127.0.0.1:0'))
    const started = await cli(['start', '--config', join(dir, 'config.yaml')])
    expect(started.code).toBe(0)
    expect(started.stderr).toMatch(/"msg":"jitssh-server listening"/)
  })

  it('refuses to overwrite an existing config, or existing keys', async () => {
    const dir = tempDir()
    expect((await cli(['init', dir])).code).toBe(0)
    const before = readFileSync(join(dir, 'keys', 'user_ca'), 'utf8')
    const again = await cli(['init', dir])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/config\.yaml already exists: refusing to overwrite it/)
    rmSync(join(dir, 'config.yaml'))
    const third = await cli(['init', dir])
    expect(third.code).toBe(1)
    expect(third.stderr).toMatch(/user_ca already exists: refusing to overwrite keys/)
    expect(readFileSync(join(dir, 'keys', 'user_ca'), 'utf8')).toBe(before)
  })
})

describe('jitssh-server start on a busy address, and --version', () => {
  it('says the address is in use and how to fix it, in one line, and exits 2', async () => {
    const { createServer } = await import('node:net')
    const busy = createServer().listen(0, '127.0.0.1')
    await new Promise((resolve) => busy.once('listening', resolve))
    const port = (busy.address() as { port: number }).port
    const dir = tempDir()
    const config = await writeTestConfig(dir, { config: { listen: `127.0.0.1:${port}` } })
    const started = await cli(['start', '--config', config])
    busy.close()
    expect(started.code).toBe(2)
    expect(started.stderr.split('\n').filter((line) => line.startsWith('jitssh-server:'))).toEqual([
      `jitssh-server: cannot listen on 127.0.0.1:${port}: the address is in use (another jitssh-server, or another program)`,
    ])
    expect(started.stderr).toContain(`hint: stop the other one, or change listen: in ${config}`)
    expect(started.stderr).not.toMatch(/unexpected error|EADDRINUSE/)
  })

  it('prints its version', async () => {
    const version = await cli(['--version'])
    expect(version).toMatchObject({ code: 0, stdout: `${(JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version}\n` })
  })
})

describe('jitssh-server hash-password', () => {
  it('prints scrypt$N$r$p$salt$hash for the password on stdin', async () => {
    const result = await cli(['hash-password'], 'hunter2hunter2\n')
    expect(result.code).toBe(0)
    const hash = result.stdout.trim()
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/)
    expect(await verifyPassword('hunter2hunter2', hash)).toBe(true)
    expect(await verifyPassword('hunter2hunter3', hash)).toBe(false)
  })

  it('refuses a short password', async () => {
    expect(await cli(['hash-password'], 'short\n')).toMatchObject({ code: 2, stderr: expect.stringMatching(/at least 8/) })
  })
})

describe('config validation', () => {
  async function configError(yamlPatch: (text: string) => string): Promise<string> {
    const dir = tempDir()
    const configPath = await writeTestConfig(dir)
    writeFileSync(configPath, yamlPatch(readFileSync(configPath, 'utf8')))
    const result = await cli(['start', '--config', configPath])
    expect(result.code).toBe(1)
    return result.stderr.replace(configPath, 'config.yaml')
  }

  it.each([
    ['a bad duration', (t: string) => t.replace('max_ttl: 1h', 'max_ttl: forever'), 'config.yaml: policy[0].max_ttl: expected a duration like "15m"'],
    ['an unknown key', (t: string) => `${t}\nsesions: {}\n`, 'config.yaml: sesions: unknown key'],
    ['a typo inside a rule', (t: string) => t.replace('max_ttl: 1h', 'max_tll: 1h'), 'config.yaml: policy[0].max_tll: unknown key'],
    ['a bad principal template', (t: string) => t.replace('"{email_local}"', '"{email}"'), 'config.yaml: policy[0].principals[0]: unknown placeholder {email}'],
    ['a bad host pattern', (t: string) => t.replace('"*.example.com"', '"bad host"'), 'config.yaml: policy[0].hosts[0]: invalid host name "bad host": contains a space'],
    ['plain HTTP off loopback', (t: string) => t.replace('127.0.0.1:0', '0.0.0.0:8443'), 'config.yaml: listen: plain HTTP is allowed on loopback only'],
    ['an http public URL', (t: string) => `public_url: http://access.example.com\n${t}`, 'config.yaml: public_url: must be https://'],
    ['a bad target address', (t: string) => t.replace('targets: {}', 'targets:\n  vm.example.com: "not an address!"'), 'config.yaml: targets.vm.example.com: expected an address'],
    ['a bad password hash', (t: string) => t.replace(/password_hash: \S+/, 'password_hash: plain'), 'config.yaml: identity.local.users[0].password_hash: expected "scrypt$N$r$p$salt$hash"'],
    ['an http issuer that is not on loopback', (t: string) => t.replace('identity:', 'identity:\n  oidc: { issuer: "http://x.example.com", client_id: a }'), 'config.yaml: identity.oidc.issuer: expected an https:// URL (http:// only for a provider on a loopback address, with allow_insecure_issuer: true)'],
    ['broken YAML', (t: string) => `${t}\npolicy: [\n`, 'config.yaml'],
    ['a checkpoint sink over plain HTTP', (t: string) => `${t}\naudit: { checkpoints: { http: { url: "http://siem.example.com/in" } } }\n`, 'config.yaml: audit.checkpoints.http.url: must be https:// (http:// only for a loopback address)'],
    ['a checkpoint count of 0', (t: string) => `${t}\naudit: { checkpoints: { every_events: 0 } }\n`, 'config.yaml: audit.checkpoints.every_events: expected a whole number from 1 to 1000000'],
    ['a typo in audit', (t: string) => `${t}\naudit: { checkpoints: { fil: x.jsonl } }\n`, 'config.yaml: audit.checkpoints.fil: unknown key'],
    ['a request timeout shorter than the header timeout', (t: string) => `${t}\nconnections: { headers_timeout: 20s, request_timeout: 10s }\n`, 'config.yaml: connections.request_timeout: must be at least headers_timeout'],
    ['no connections per address', (t: string) => `${t}\nconnections: { per_ip: 0 }\n`, 'config.yaml: connections.per_ip: expected a whole number from 1 to 1000000'],
    ['a checkpoint file that cannot be opened', (t: string) => `${t}\naudit: { checkpoints: { file: /nonexistent/dir/checkpoints.jsonl } }\n`, 'config.yaml: audit.checkpoints.file: cannot open /nonexistent/dir/checkpoints.jsonl for appending (ENOENT)'],
    ['a record_input that is not a boolean', (t: string) => t.replace('max_ttl: 1h', 'max_ttl: 1h\n    record_input: "yes"'), 'config.yaml: policy[0].record_input: expected true or false'],
    ['a typo in auditors', (t: string) => `${t}\nauditors: { group: [security] }\n`, 'config.yaml: auditors.group: unknown key (expected one of: users, groups)'],
    ['a bad recordings retention', (t: string) => `${t}\nrecordings: { retention: 90 }\n`, 'config.yaml: recordings.retention: expected a duration like "15m"'],
    ['a recordings retention under an hour', (t: string) => `${t}\nrecordings: { retention: 10m }\n`, 'config.yaml: recordings.retention: must be at least 3600s'],
    // Issue 18: values that reached "unexpected error" without a key path.
    ['an unknown log level', (t: string) => `${t}\nlog_level: verbose\n`, 'config.yaml: log_level: expected one of: debug, info, warn, error'],
    ['a trusted proxy that is no address (without behind_tls_proxy too)', (t: string) => `${t}\ntrusted_proxies: [10.0.0.1, garbage]\n`, 'config.yaml: trusted_proxies[1]: expected an address or CIDR like "10.0.0.0/8"'],
    ['an alias without its anchor', (t: string) => `${t}\nadmins: { users: *nobody }\n`, 'not valid YAML: an alias (*name) without its anchor (&name) before it'],
    ['a YAML alias bomb', (t: string) => `${t}\nx0: &a0 [1,1,1,1,1,1,1,1,1,1]\nx1: &a1 [*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0]\nx2: &a2 [*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1]\nx3: [*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2]\n`, 'config.yaml: not valid YAML: its aliases expand to more than 100 times'],
    ['a missing TLS certificate', (t: string) => `${t}\npublic_url: https://127.0.0.1:8443\ntls: { cert: nope.pem, key: nope.key }\n`, 'config.yaml: tls.cert: cannot read '],
    ['a TLS certificate that is a device', (t: string) => `${t}\npublic_url: https://127.0.0.1:8443\ntls: { cert: /dev/zero, key: /dev/zero }\n`, 'config.yaml: tls.cert: /dev/zero is not a regular file'],
    ['a database path that is a directory', (t: string) => t.replace('sqlite: jitssh.db', 'sqlite: keys'), 'config.yaml: storage.sqlite: '],
    ['a database path ending in a slash', (t: string) => t.replace('sqlite: jitssh.db', 'sqlite: data/'), 'config.yaml: storage.sqlite: names a directory: name the database file in it'],
    ['a database that is not one', (t: string) => t.replace('sqlite: jitssh.db', 'sqlite: keys/user_ca.pub'), 'config.yaml: storage.sqlite: cannot open '],
    ['a database below a file', (t: string) => t.replace('sqlite: jitssh.db', 'sqlite: keys/user_ca.pub/jitssh.db'), 'config.yaml: storage.sqlite: cannot look at '],
    ['a database under /sys', (t: string) => t.replace('sqlite: jitssh.db', 'sqlite: /sys/jitssh/jitssh.db'), 'config.yaml: storage.sqlite: /sys/jitssh/jitssh.db is under /sys, a kernel file system'],
    ['a checkpoint file under /proc', (t: string) => `${t}\naudit: { checkpoints: { file: /proc/sys/kernel/hostname } }\n`, 'config.yaml: audit.checkpoints.file: /proc/sys/kernel/hostname is under /proc, a kernel file system'],
    ['a keys_dir without keys', (t: string) => t.replace('keys_dir: keys', 'keys_dir: nokeys'), 'config.yaml: keys_dir: '],
  ])('names the file, key path and problem for %s', async (_name, patch, expected) => {
    expect(await configError(patch)).toContain(expected)
  })

  it('refuses key files other users can read', async () => {
    const dir = tempDir()
    const configPath = await writeTestConfig(dir)
    chmodSync(join(dir, 'keys', 'user_ca'), 0o644)
    const result = await cli(['check', '--config', configPath])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/user_ca: permissions 644 are too open \(run: chmod 600 /)
  })

  it('creates missing audit keys once (0600) and says so; refuses an audit key other than the one that sealed the chain', async () => {
    // A keys_dir from before the audit keys existed.
    const dir = tempDir()
    const configPath = await writeTestConfig(dir)
    const keys = join(dir, 'keys')
    for (const name of ['audit_key', 'audit_checkpoint_key.pem', 'audit_checkpoint_key.pub.pem']) rmSync(join(keys, name))
    const first = await cli(['check', '--config', configPath])
    expect(first.code).toBe(0)
    expect(first.stderr.match(/created a missing audit key/g)).toHaveLength(2)
    for (const name of ['audit_key', 'audit_checkpoint_key.pem']) expect(statSync(join(keys, name)).mode & 0o777).toBe(0o600)
    const again = await cli(['check', '--config', configPath])
    expect(again.code).toBe(0)
    expect(again.stderr).not.toContain('created a missing audit key')

    // A replica whose keys_dir lacks the shared audit_key would make its own: it must not append with it.
    const srv = await startTestServer()
    try {
      await loginWithPassword(srv.url)
      rmSync(join(srv.dir, 'keys', 'audit_key'))
      const other = await cli(['check', '--config', srv.configPath])
      expect(other.code).toBe(1)
      expect(other.stderr).toContain('created a missing audit key')
      expect(other.stderr).toMatch(/audit_key: this is audit key [0-9a-f]{16}, but the newest audit row \(seq \d+\) was sealed with audit key [0-9a-f]{16}\nhint: every replica needs the same keys_dir/)
    } finally {
      await srv.stop()
    }
  })

  it('names the TLS files that are not PEM, or not a pair', async () => {
    const dir = tempDir()
    const configPath = await writeTestConfig(dir)
    const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' })
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
    openssl(['genpkey', '-algorithm', 'ed25519', '-out', join(dir, 'other.pem')])
    openssl(['genpkey', '-algorithm', 'ed25519', '-aes-128-cbc', '-pass', 'pass:secret', '-out', join(dir, 'encrypted.pem')])
    writeFileSync(join(dir, 'text.pem'), 'hello\n')
    const original = readFileSync(configPath, 'utf8')
    const withTls = async (cert: string, key: string): Promise<string> => {
      writeFileSync(configPath, `${original}\npublic_url: https://127.0.0.1:8443\ntls: { cert: ${cert}, key: ${key} }\n`)
      const result = await cli(['check', '--config', configPath])
      return result.code === 0 ? 'ok' : result.stderr.replace(configPath, 'config.yaml').replaceAll(dir, 'DIR').trim()
    }
    expect(await withTls('cert.pem', 'key.pem')).toBe('ok')
    expect(await withTls('text.pem', 'key.pem')).toBe('jitssh-server: config.yaml: tls.cert: DIR/text.pem is not a PEM certificate (-----BEGIN CERTIFICATE-----)')
    expect(await withTls('key.pem', 'key.pem')).toBe('jitssh-server: config.yaml: tls.cert: DIR/key.pem is not a PEM certificate (-----BEGIN CERTIFICATE-----)')
    expect(await withTls('cert.pem', 'text.pem')).toBe('jitssh-server: config.yaml: tls.key: DIR/text.pem is not a PEM private key')
    expect(await withTls('cert.pem', 'cert.pem')).toBe('jitssh-server: config.yaml: tls.key: DIR/cert.pem is not a PEM private key')
    expect(await withTls('cert.pem', 'encrypted.pem')).toBe('jitssh-server: config.yaml: tls.key: DIR/encrypted.pem is an encrypted private key (the server cannot ask for its passphrase)')
    expect(await withTls('cert.pem', 'other.pem')).toBe('jitssh-server: config.yaml: tls.key: DIR/other.pem is not the private key of the certificate in tls.cert (CN=127.0.0.1)')
  })

  it('check ends at once, with the key, for a database under /proc (a recursive mkdir there never returned)', async () => {
    const dir = tempDir()
    const configPath = await writeTestConfig(dir)
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace('sqlite: jitssh.db', 'sqlite: /proc/jitssh/data/jitssh.db'))
    // Its own process: before the fix, check spun at 100% CPU forever, which no in-process test can interrupt.
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'jitssh-server.js'), 'check', '--config', configPath], { encoding: 'utf8', timeout: 20_000 })
    expect(result.signal).toBeNull()
    expect(result.status).toBe(1)
    expect(result.stderr.replace(configPath, 'config.yaml')).toBe('jitssh-server: config.yaml: storage.sqlite: /proc/jitssh/data/jitssh.db is under /proc, a kernel file system: choose a directory on disk (e.g. /var/lib/jitssh/jitssh.db)\n')
  })

  it('names a missing config file', async () => {
    expect(await cli(['start', '--config', '/nonexistent/config.yaml'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/\/nonexistent\/config\.yaml: cannot read the config file \(ENOENT\)/) })
  })
})

describe('jitssh-server audit verify', () => {
  it('verifies the chain of a used server, then names the row that was altered', async () => {
    const srv = await startTestServer()
    try {
      const tokens = await loginWithPassword(srv.url)
      await fetch(`${srv.url}/v1/ssh/sign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair().publicKey), hostname: 'vm.example.com' }),
      })
      await fetch(`${srv.url}/v1/ssh/sign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair().publicKey), hostname: 'db.internal' }),
      })
      const ok = await cli(['audit', 'verify', '--config', srv.configPath])
      expect(ok.code).toBe(0)
      const count = Number(/ok: (\d+) events verified/.exec(ok.stdout)?.[1])
      expect(count).toBeGreaterThanOrEqual(4) // login, token.issue, cert.sign, access.denied

      // The table refuses edits...
      const db = new Database(join(srv.dir, 'jitssh.db'))
      const sign = db.prepare("SELECT seq FROM audit_events WHERE type = 'cert.sign'").pluck().get() as number
      expect(() => db.prepare("UPDATE audit_events SET user_email = 'mallory@example.com' WHERE seq = ?").run(sign)).toThrow(/append-only/)
      // ...and when someone with the file removes that guard, the chain shows it.
      db.exec('DROP TRIGGER audit_events_no_update')
      db.prepare("UPDATE audit_events SET user_email = 'mallory@example.com' WHERE seq = ?").run(sign)
      db.close()
      const broken = await cli(['audit', 'verify', '--config', srv.configPath])
      expect(broken.code).toBe(1)
      expect(broken.stdout).toContain(`audit chain BROKEN at seq ${sign}: content does not match its keyed hash: the row (cert.sign at `)
    } finally {
      await srv.stop()
    }
  })

  it('detects a row re-hashed even with the key through the next row, and a deleted row', async () => {
    const srv = await startTestServer()
    try {
      for (let i = 0; i < 3; i++) await loginWithPassword(srv.url, 'alice', TEST_PASSWORD)
      const db = new Database(join(srv.dir, 'jitssh.db'))
      db.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete')
      const row = db.prepare('SELECT * FROM audit_events WHERE seq = 2').get() as Record<string, string | number>
      const forged = { seq: 2, time: String(row.time), type: String(row.type), user: 'mallory@example.com', sessionId: row.session_id as string | null, host: row.host as string | null, outcome: row.outcome as 'ok', detail: JSON.parse(String(row.detail)) as Record<string, unknown>, prevHash: String(row.prev_hash) }
      db.prepare('UPDATE audit_events SET user_email = ?, hash = ? WHERE seq = 2').run('mallory@example.com', keyedAuditHash(forged, auditKeysOf(srv.configPath).chain))
      db.close()
      const rehashed = await cli(['audit', 'verify', '--config', srv.configPath])
      expect(rehashed).toMatchObject({ code: 1, stdout: expect.stringContaining('BROKEN at seq 3: prev_hash does not match the hash of seq 2') })

      const db2 = new Database(join(srv.dir, 'jitssh.db'))
      db2.prepare('DELETE FROM audit_events WHERE seq = 2').run()
      db2.close()
      const deleted = await cli(['audit', 'verify', '--config', srv.configPath])
      expect(deleted).toMatchObject({ code: 1, stdout: expect.stringContaining('BROKEN at seq 3: expected seq 2 next, found 3') })
    } finally {
      await srv.stop()
    }
  })
})
