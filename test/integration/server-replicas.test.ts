// Two jitssh-server replicas on one PostgreSQL database and one keys dir, with no load balancer: what one
// replica revokes, the other enforces at once. A tunnel through B closes (4001) within a second of an admin
// revoking its session — or disabling its user — on A, pushed by NOTIFY (the close reason says so: the 1 s
// poll would say "session has been revoked"); B then refuses refresh and signing. A refresh token used on A
// is a reuse on B. After B's LISTEN connection is cut, B re-checks what it caches and holds. A third replica,
// its own process, is killed with SIGKILL under signing load: every certificate it gave out is recorded with
// its event, and A or B closes the tunnel it held ("server crashed") within seconds.
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { TUNNEL_CLOSE } from '../../src/shared/protocol.js'
import { verifyAuditChain } from '../../src/server/audit/audit-verify.js'
import { generateServerKeys } from '../../src/server/ca/server-keys.js'
import { run as runServerCli } from '../../src/server/commands/main.js'
import type { PostgresStore } from '../../src/server/store/postgres/postgres-store.js'
import type { RevocationEvent } from '../../src/server/store/store.js'
import type { AuditRecord } from '../../src/server/store/store.js'
import { adminCall, refreshWith, signFor } from '../helpers/admin.js'
import { auditKeysOf } from '../helpers/audit.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'
import { DEFAULT_POLICY, DEFAULT_USERS, loginWithPassword, startTestServer, writeTestConfig, type TestServer, type TestServerOptions } from '../helpers/server.js'
import { spawnServer, type ServerProcess } from '../helpers/server-process.js'

type Login = Awaited<ReturnType<typeof loginWithPassword>>
let postgres: TestPostgres
let echo: Server
let keysDir: string
let a: TestServer
let b: TestServer
/** B's own address (its url is the shared public_url, which is A's). */
let bUrl: string
let bob: Login
let options: TestServerOptions
let killed: ServerProcess | undefined

beforeAll(async () => {
  postgres = await startPostgres()
  echo = createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1')
  await once(echo, 'listening')
  keysDir = mkdtempSync(join(tmpdir(), 'jitssh-replica-keys-'))
  generateServerKeys(keysDir)
  options = {
    users: [...DEFAULT_USERS, { username: 'carol', email: 'carol@example.com', groups: ['dev'] }],
    targets: { 'echo.example.com': `127.0.0.1:${(echo.address() as AddressInfo).port}`, 'vault.internal': `127.0.0.1:${(echo.address() as AddressInfo).port}` },
    // vault.internal only on request (the default rule covers *.example.com), approved by ops.
    policy: [...DEFAULT_POLICY, { name: 'vault', groups: ['dev'], hosts: ['vault.internal'], principals: ['{email_local}'], request: { approvers: { groups: ['ops'] }, reason: 'optional' } }],
    // A heartbeat of 1 s: a replica silent for 3 s is dead (the default is 5 s, so 15 s).
    config: { storage: { postgres: postgres.url, heartbeat: '1s' }, keys_dir: keysDir, admins: { groups: ['ops'] } },
  }
  a = await startTestServer(options)
  // Replicas share the public URL (a load balancer's, in production): tokens from one are valid on the other.
  b = await startTestServer({ ...options, config: { ...options.config, public_url: a.url } })
  bUrl = `http://127.0.0.1:${(b.server.app.server.address() as AddressInfo).port}`
  bob = await loginWithPassword(a.url, 'bob')
})
afterAll(async () => {
  killed?.kill('SIGKILL')
  await b?.stop()
  await a?.stop()
  await postgres?.stop()
  echo?.close()
  if (keysDir) rmSync(keysDir, { recursive: true, force: true })
})

async function openTunnel(url: string, token: string, host = 'echo.example.com'): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/tunnel?host=${host}`, { headers: { authorization: `Bearer ${token}` } })
  await once(ws, 'open')
  ws.send(Buffer.from('ping through B'))
  const [echoed] = (await once(ws, 'message')) as [Buffer]
  expect(echoed.toString()).toBe('ping through B')
  return ws
}
function closeOf(ws: WebSocket): Promise<{ code: number; reason: string; at: number }> {
  return once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason), at: performance.now() }))
}
/** Refresh and signing on `url` both refused, right away. */
async function expectRefused(url: string, login: Login): Promise<void> {
  const refresh = await refreshWith(url, login.refresh_token)
  expect(refresh.status).toBe(400)
  expect(refresh.body.error).toBe('invalid_grant')
  const sign = await signFor(url, login.access_token, 'echo.example.com')
  expect(sign.status).toBe(401)
  expect(sign.body).toMatchObject({ error: 'ERR_SESSION_REVOKED' })
}

describe('two replicas on one PostgreSQL', () => {
  it('closes B’s tunnel within 1 s of a revoke on A, then B refuses refresh and signing at once', async () => {
    const alice = await loginWithPassword(a.url, 'alice')
    // B caches the active session now; only the fan-out can make B forget it within the next 500 ms.
    expect((await signFor(bUrl, alice.access_token, 'echo.example.com')).status).toBe(200)
    const ws = await openTunnel(bUrl, alice.access_token)
    const closed = closeOf(ws)
    const started = performance.now()
    const revoked = await adminCall(a.url, bob.access_token, 'revoke', { session_id: alice.session_id })
    expect(revoked).toMatchObject({ status: 200, body: { revoked_sessions: [alice.session_id] } })
    const { code, reason, at } = await closed
    console.log(`revoke on A -> tunnel on B closed: ${(at - started).toFixed(1)} ms`)
    expect(code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect(reason).toBe('session revoked: by an admin')
    expect(at - started).toBeLessThan(1000)
    await expectRefused(bUrl, alice)
    await expectRefused(a.url, alice)
  })

  it('closes B’s tunnels of a user disabled on A within 1 s', async () => {
    const carol = await loginWithPassword(a.url, 'carol')
    const ws = await openTunnel(bUrl, carol.access_token)
    const closed = closeOf(ws)
    const started = performance.now()
    expect((await adminCall(a.url, bob.access_token, 'users/disable', { user: 'carol@example.com' })).status).toBe(200)
    const { code, reason, at } = await closed
    console.log(`disable on A -> tunnel on B closed: ${(at - started).toFixed(1)} ms`)
    expect(code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect(reason).toMatch(/^session revoked: user disabled/)
    expect(at - started).toBeLessThan(1000)
    await expectRefused(bUrl, carol)
    expect((await adminCall(a.url, bob.access_token, 'users/enable', { user: 'carol@example.com' })).status).toBe(200)
  })

  it('treats a refresh token used on A as reused on B: the session ends on both replicas', async () => {
    const alice = await loginWithPassword(a.url, 'alice')
    const rotated = await refreshWith(a.url, alice.refresh_token)
    expect(rotated.status).toBe(200)
    const next = rotated.body as unknown as Login
    expect((await signFor(a.url, next.access_token, 'echo.example.com')).status).toBe(200) // A caches the session
    const reused = await refreshWith(bUrl, alice.refresh_token)
    expect(reused.status).toBe(400)
    expect(reused.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/already used; the session has been revoked/) })
    // B revoked the session; A hears of it and drops its cached copy.
    await expectRefused(a.url, { ...next, session_id: alice.session_id })
  })

  it('after B’s LISTEN connection is cut, B reconnects, forgets its cached sessions and re-checks its live tunnels', async () => {
    const alice = await loginWithPassword(a.url, 'alice')
    const storeB = b.server.store as PostgresStore
    const resynced = new Promise<RevocationEvent>((resolve) => {
      const unsubscribe = storeB.onRevocation((event) => event.kind === 'resync' && (unsubscribe(), resolve(event)))
    })
    expect((await signFor(bUrl, alice.access_token, 'echo.example.com')).status).toBe(200) // cached on B for 500 ms
    const ws = await openTunnel(bUrl, alice.access_token)
    const closed = closeOf(ws)
    const started = performance.now()
    await (a.server.store as PostgresStore).db.query('SELECT pg_terminate_backend($1)', [storeB.revocationListener!.backendPid])
    // Revoked while B cannot hear it (B's first retry waits at least 75 ms).
    await a.server.context.sessions.revoke(alice.session_id, 'by an admin', { user: null })
    await resynced
    const sign = await signFor(bUrl, alice.access_token, 'echo.example.com')
    expect(sign.status).toBe(401)
    const { code, at } = await closed
    console.log(`revoke on A while B was not listening -> tunnel on B closed after B reconnected: ${(at - started).toFixed(1)} ms`)
    expect(code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect(at - started).toBeLessThan(1000)
  })

  it('honours on A an access request approved on B at once, and closes A’s tunnel within 1 s of the grant being revoked on B', async () => {
    const carol = await loginWithPassword(a.url, 'carol')
    const call = async (url: string, token: string, path: string, body: unknown) => {
      const response = await fetch(`${url}/v1/${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return { status: response.status, body: (await response.json()) as { request?: { id: string }; state?: string; message?: string } }
    }
    expect((await signFor(a.url, carol.access_token, 'vault.internal')).status).toBe(403)
    const created = await call(a.url, carol.access_token, 'requests', { host: 'vault.internal', duration_seconds: 600 })
    const id = created.body.request!.id
    expect((await call(bUrl, bob.access_token, `requests/${id}/review`, { decision: 'approve' })).body.state).toBe('approved')
    expect((await signFor(a.url, carol.access_token, 'vault.internal')).status).toBe(200)
    const ws = await openTunnel(a.url, carol.access_token, 'vault.internal')
    const closed = closeOf(ws)
    const started = performance.now()
    expect((await call(bUrl, bob.access_token, `requests/${id}/revoke`, { reason: 'incident over' })).body.state).toBe('revoked')
    const { code, reason, at } = await closed
    console.log(`grant revoked on B -> tunnel on A closed: ${(at - started).toFixed(1)} ms`)
    expect(code).toBe(TUNNEL_CLOSE.POLICY_DENIED)
    expect(reason).toBe(`grant.revoked: access grant ${id} was revoked: incident over`)
    expect(at - started).toBeLessThan(1000)
    expect((await signFor(a.url, carol.access_token, 'vault.internal')).status).toBe(403)
  })

  it('kill -9 of a third replica under signing load: its certificates are all recorded; A or B closes its tunnel ("server crashed", bytes known) within seconds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jitssh-replica-c-'))
    const probe = createServer().listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    const configPath = await writeTestConfig(dir, { ...options, config: { ...options.config, public_url: a.url, listen: `127.0.0.1:${port}`, rate_limits: { sign_per_minute: 100_000 } } })
    const c = (killed = await spawnServer(configPath))
    const cUrl = `http://127.0.0.1:${port}`
    try {
      const carol = await loginWithPassword(a.url, 'carol')
      const ws = await openTunnel(cUrl, carol.access_token)
      const dropped = once(ws, 'close')
      const db = (a.server.store as PostgresStore).db
      // C writes the tunnel's bytes with its next heartbeat.
      let row: Record<string, unknown> | undefined
      while (!(row = (await db.rows('SELECT * FROM live_tunnels WHERE session_id = $1 AND bytes_up > 0', [carol.session_id]))[0])) await new Promise((resolve) => setTimeout(resolve, 50))
      const tunnelId = String(row.id)
      const closedBySurvivor = new Promise<AuditRecord>((resolve) => {
        for (const survivor of [a, b]) survivor.server.context.audit.onRecorded((record) => void (record.type === 'tunnel.close' && record.detail.tunnel === tunnelId && resolve(record)))
      })

      const received: string[] = []
      let stopped = false
      const signer = async (): Promise<void> => {
        while (!stopped) {
          const answer = await signFor(cUrl, carol.access_token, 'echo.example.com').catch(() => undefined)
          if (answer?.status === 200) received.push(answer.body.serial)
          else if (!stopped) throw new Error(`sign on C: ${answer?.status} ${JSON.stringify(answer?.body)}`)
        }
      }
      const signers = Array.from({ length: 4 }, signer)
      while (received.length < 30) await new Promise((resolve) => setTimeout(resolve, 10))
      c.kill('SIGKILL')
      stopped = true
      const killedAt = performance.now()
      expect(await c.exited).toBe('SIGKILL')
      await Promise.all([...signers, dropped])

      const closed = await closedBySurvivor
      console.log(`kill -9 of replica C -> its tunnel closed by a survivor: ${(performance.now() - killedAt).toFixed(0)} ms (heartbeat 1 s, dead after 3)`)
      expect(performance.now() - killedAt).toBeLessThan(10_000)
      expect(closed).toMatchObject({ outcome: 'error', sessionId: carol.session_id, detail: { reason: 'server crashed', bytes_up: 14, bytes_down: 14, replica: String(row.replica_id) } })
      expect(await db.rows('SELECT id FROM live_tunnels WHERE replica_id = $1', [row.replica_id])).toEqual([])
      const sessions = await adminCall<{ sessions: Array<{ session_id: string; live_tunnels: number }> }>(a.url, bob.access_token, 'sessions')
      expect(sessions.body.sessions.find((session) => session.session_id === carol.session_id)?.live_tunnels).toBe(0)

      console.log(`SIGKILL of C with ${received.length} certificates received`)
      const rows = new Set((await db.rows('SELECT serial FROM certificates WHERE session_id = $1', [carol.session_id])).map((certificate) => String(certificate.serial)))
      const events = await db.rows(`SELECT detail FROM audit_events WHERE type = 'cert.sign' AND outcome = 'ok' AND session_id = $1`, [carol.session_id])
      const signed = new Set(events.map((event) => String((JSON.parse(String(event.detail)) as { serial: unknown }).serial)))
      for (const serial of received) {
        expect(rows.has(serial), `certificate ${serial}`).toBe(true)
        expect(signed.has(serial), `cert.sign of ${serial}`).toBe(true)
      }
    } finally {
      c.kill('SIGKILL')
      await c.exited
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('kept one unbroken audit chain across both replicas, as jitssh-server audit verify (on B’s config) also finds', async () => {
    const result = await verifyAuditChain(a.server.store, auditKeysOf(a.configPath).chain)
    expect(result.problems).toEqual([])
    expect(result.events).toBeGreaterThan(20)
    const stdout = new PassThrough()
    let said = ''
    stdout.on('data', (chunk: Buffer) => (said += chunk.toString()))
    expect(await runServerCli(['audit', 'verify', '--config', b.configPath], { stdout, stderr: new PassThrough() })).toBe(0)
    expect(said).toMatch(new RegExp(`^audit chain ok: (${result.events}|${result.events + 1}|${result.events + 2}) events verified`))
  })
})
