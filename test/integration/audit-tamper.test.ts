// Attacks on the audit trail by someone who can write the database but cannot read keys_dir, each run
// against a real server's SQLite file and judged by `jitssh-server audit verify`:
//  - cutting rows off the end (truncation),
//  - deleting a middle row and recomputing the later hashes with SHA-256,
//  - editing a row and re-sealing the rest under a key of their own.
// Before the chain was keyed and checkpointed, `audit verify` answered "audit chain ok" to all three.
import { generateKeyPairSync, sign } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/server/audit/audit-chain.js'
import { signFor } from '../helpers/admin.js'
import { ownKeyHash, readAuditRows, resealFrom, sha256Hash, writeAuditRows } from '../helpers/audit-tamper.js'
import { loginWithPassword, runServerCli, startTestServer, type TestServer } from '../helpers/server.js'

const stopped: TestServer[] = []
afterEach(() => {
  for (const srv of stopped.splice(0)) rmSync(srv.dir, { recursive: true, force: true })
})

/** A server that wrote `signs` cert.sign events (after alice's login), then stopped; its files are kept. */
async function usedAndStopped(signs: number): Promise<TestServer> {
  const srv = await startTestServer()
  stopped.push(srv)
  const alice = await loginWithPassword(srv.url)
  for (let i = 0; i < signs; i++) expect((await signFor(srv.url, alice.access_token, 'vm.example.com')).status).toBe(200)
  await srv.server.close()
  return srv
}

const verify = (srv: TestServer, ...extra: string[]) => runServerCli(['audit', 'verify', '--config', srv.configPath, ...extra])
const dbOf = (srv: TestServer): string => join(srv.dir, 'jitssh.db')

describe('audit verify against an attacker with the database but not the keys', () => {
  it('detects rows cut off the end (truncation), through the checkpoints written outside the database', async () => {
    const srv = await usedAndStopped(6)
    const rows = readAuditRows(dbOf(srv))
    expect((await verify(srv)).code).toBe(0)
    writeAuditRows(dbOf(srv), rows.slice(0, -3))

    const result = await verify(srv)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(new RegExp(`^audit chain BROKEN at seq ${rows.length}: rows are missing from the end: .*names seq ${rows.length}.* the last row is seq ${rows.length - 3}`, 'm'))
  })

  it('detects a middle row deleted and every later row renumbered and re-hashed with SHA-256', async () => {
    const srv = await usedAndStopped(6)
    const rows = readAuditRows(dbOf(srv))
    const victim = rows.find((row) => row.type === 'cert.sign')!
    writeAuditRows(dbOf(srv), resealFrom(rows.filter((row) => row.seq !== victim.seq), victim.seq - 1, sha256Hash))

    const result = await verify(srv)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`audit chain BROKEN at seq ${victim.seq}: a plain SHA-256 row after keyed rows (keyed from seq 1)`)
    expect(result.stdout).toContain(`(${victim.seq - 1} events before it verified)`)
  })

  it('detects a row edited and it and every later row re-sealed under a key other than keys_dir/audit_key', async () => {
    const srv = await usedAndStopped(4)
    const rows = readAuditRows(dbOf(srv))
    const victim = rows.find((row) => row.type === 'cert.sign')!
    victim.user_email = 'mallory@example.com'
    writeAuditRows(dbOf(srv), resealFrom(rows, victim.seq - 1, ownKeyHash))

    const result = await verify(srv)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`audit chain BROKEN at seq ${victim.seq}: content does not match its keyed hash`)
  })

  it('refuses checkpoints the attacker rewrote to match a truncated chain: their signature does not verify', async () => {
    const srv = await usedAndStopped(6)
    const kept = readAuditRows(dbOf(srv)).slice(0, -3)
    writeAuditRows(dbOf(srv), kept)
    const file = join(srv.dir, 'audit-checkpoints.jsonl')
    const { sig: _genuine, ...last } = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as Record<string, unknown>
    const unsigned = { ...last, seq: kept.at(-1)!.seq, hash: kept.at(-1)!.hash }
    const attackerKey = generateKeyPairSync('ed25519').privateKey
    writeFileSync(file, `${JSON.stringify({ ...unsigned, sig: sign(null, Buffer.from(canonicalJson(unsigned)), attackerKey).toString('base64url') })}\n`)

    const result = await verify(srv)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`checkpoint REFUSED at ${file}:1 (seq ${kept.at(-1)!.seq}): the signature does not verify: the checkpoint was forged or altered`)
    expect(result.stdout).toContain(`checkpoints: 0 of 0 in ${file} match the chain (1 refused)`)
  })

  it('counts the rows verified before the first problem', async () => {
    const srv = await usedAndStopped(30)
    const rows = readAuditRows(dbOf(srv))
    rows[23]!.user_email = 'mallory@example.com' // seq 24, not re-hashed
    writeAuditRows(dbOf(srv), rows)

    const result = await verify(srv)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('audit chain BROKEN at seq 24: content does not match its')
    expect(result.stdout).toContain('(23 events before it verified)')
  })
})
