// The keyed, checkpointed audit chain on PostgreSQL with two replicas (one database, one keys_dir, a
// checkpoint file each): both replicas' checkpoints verify against the one chain; a database owner who
// cuts rows off the end, or deletes a row and re-hashes the rest with SHA-256, is caught by `audit verify`
// run with either replica's config.
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { generateServerKeys } from '../../src/server/ca/server-keys.js'
import { signFor } from '../helpers/admin.js'
import { readAuditRowsFromPostgres, resealFrom, sha256Hash, writeAuditRowsToPostgres, type RawAuditRow } from '../helpers/audit-tamper.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'
import { loginWithPassword, runServerCli, startTestServer, type TestServer } from '../helpers/server.js'

let postgres: TestPostgres
let keysDir: string
let a: TestServer
let b: TestServer
let written: RawAuditRow[]

beforeAll(async () => {
  postgres = await startPostgres()
  keysDir = mkdtempSync(join(tmpdir(), 'jitssh-audit-pg-keys-'))
  generateServerKeys(keysDir) // without audit keys: the first replica creates them, the second finds them
  const config = { storage: { postgres: postgres.url }, keys_dir: keysDir }
  a = await startTestServer({ config })
  b = await startTestServer({ config: { ...config, public_url: a.url } })
  const bUrl = `http://127.0.0.1:${(b.server.app.server.address() as AddressInfo).port}`
  const alice = await loginWithPassword(a.url)
  for (let i = 0; i < 6; i++) expect((await signFor(i % 2 === 0 ? a.url : bUrl, alice.access_token, 'vm.example.com')).status).toBe(200)
  // Both shut down: each writes a checkpoint of the newest row it wrote (A: the next-to-last, B: the last).
  await a.server.close()
  await b.server.close()
  written = await readAuditRowsFromPostgres(postgres.url)
})
afterEach(async () => writeAuditRowsToPostgres(postgres.url, written))
afterAll(async () => {
  await b?.stop()
  await a?.stop()
  await postgres?.stop()
  if (keysDir) rmSync(keysDir, { recursive: true, force: true })
})

const verifyWith = (srv: TestServer) => runServerCli(['audit', 'verify', '--config', srv.configPath])

describe('the audit chain on PostgreSQL, two replicas', () => {
  it('one keyed chain that both replicas checkpointed; each one verifies it against its own checkpoints', async () => {
    expect(written.every((row) => /^hmac-sha256:/.test(row.hash))).toBe(true)
    for (const srv of [a, b]) {
      const result = await verifyWith(srv)
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(new RegExp(`^audit chain ok: ${written.length} events verified\\n`))
      expect(result.stdout).toMatch(/checkpoints: (\d+) of \1 in .* match the chain/)
    }
  })

  it('rows cut off the end are found by either replica', async () => {
    await writeAuditRowsToPostgres(postgres.url, written.slice(0, -3))
    for (const srv of [a, b]) {
      const result = await verifyWith(srv)
      expect(result.code).toBe(1)
      expect(result.stdout).toMatch(new RegExp(`^audit chain BROKEN at seq \\d+: rows are missing from the end: .* the last row is seq ${written.length - 3}`, 'm'))
    }
  })

  it('a row deleted and the rest re-hashed with SHA-256 is found', async () => {
    const victim = written.find((row) => row.type === 'cert.sign')!
    await writeAuditRowsToPostgres(postgres.url, resealFrom(written.filter((row) => row.seq !== victim.seq), victim.seq - 1, sha256Hash))
    const result = await verifyWith(a)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain(`audit chain BROKEN at seq ${victim.seq}: a plain SHA-256 row after keyed rows`)
    expect(result.stdout).toContain(`(${victim.seq - 1} events before it verified)`)
  })
})
