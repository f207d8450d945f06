// Issue 18, "keep it proven", on SQLite: the real server process, under concurrent signing and with live
// tunnels, is killed with SIGKILL and started again on the same database. Every certificate a client received
// has its row and its cert.sign event; the tunnels it held get their tunnel.close ("server crashed", with the
// bytes of the last heartbeat) when the next process starts; nothing counts them as live; `audit verify`
// passes; the database passes integrity_check. (The same on PostgreSQL replicas: server-replicas.test.ts.)
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { AuditRecord } from '../../src/server/store/store.js'
import { TUNNEL_CLOSE } from '../../src/shared/protocol.js'
import { reconciledClose } from '../../src/server/replicas/replica-lease.js'
import { adminCall, signFor } from '../helpers/admin.js'
import { loginWithPassword, runServerCli, startTestServer, writeTestConfig } from '../helpers/server.js'
import { spawnServer, type ServerProcess } from '../helpers/server-process.js'

let dir: string
let configPath: string
let echo: Server
const processes: ServerProcess[] = []

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1')
  await once(echo, 'listening')
  dir = mkdtempSync(join(tmpdir(), 'jitssh-crash-'))
  // One port for both processes, so the tokens of the first (their issuer is its URL) are good on the second.
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = (probe.address() as AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  configPath = await writeTestConfig(dir, {
    targets: { 'echo.example.com': `127.0.0.1:${(echo.address() as AddressInfo).port}` },
    config: { listen: `127.0.0.1:${port}`, storage: { sqlite: 'jitssh.db', heartbeat: '300ms' }, admins: { users: ['bob'] }, rate_limits: { sign_per_minute: 100_000 } },
  })
})
afterAll(async () => {
  for (const server of processes) server.kill('SIGKILL')
  await Promise.all(processes.map((server) => server.exited))
  echo?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function start(): Promise<ServerProcess> {
  const server = await spawnServer(configPath)
  processes.push(server)
  return server
}

/** A tunnel through `url` that has carried `bytes` each way (echoed back). */
async function tunnelCarrying(url: string, token: string, bytes: number): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/tunnel?host=echo.example.com`, { headers: { authorization: `Bearer ${token}` } })
  await once(ws, 'open')
  let echoed = 0
  const back = new Promise<void>((resolve) => ws.on('message', (data: Buffer) => (echoed += data.length) >= bytes && resolve()))
  ws.send(Buffer.alloc(bytes, 7))
  await back
  return ws
}

/** The SQLite file's rows, read through a connection of the test's own (WAL: it may read while the server writes). */
function readDatabase<T>(read: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'jitssh.db'), { readonly: true, fileMustExist: true })
  try {
    return read(db)
  } finally {
    db.close()
  }
}

const auditEvents = (): AuditRecord[] =>
  readDatabase((db) => db.prepare('SELECT seq, type, outcome, session_id, detail FROM audit_events ORDER BY seq').all() as Array<Record<string, unknown>>).map(
    (row) => ({ seq: Number(row.seq), type: String(row.type), outcome: row.outcome, sessionId: row.session_id, detail: JSON.parse(String(row.detail)) }) as AuditRecord,
  )

describe('kill -9 on SQLite', () => {
  it('loses no certificate a client received, and the next process closes the tunnels the dead one held ("server crashed", bytes known)', async () => {
    const first = await start()
    const alice = await loginWithPassword(first.url)
    const bob = await loginWithPassword(first.url, 'bob')
    const tunnels = [await tunnelCarrying(first.url, alice.access_token, 3000), await tunnelCarrying(first.url, alice.access_token, 5000)]
    const droppedByKill = tunnels.map((ws) => once(ws, 'close'))
    // The bytes go to the database with the next heartbeats (300 ms here): wait until both are written.
    while (readDatabase((db) => db.prepare('SELECT count(*) FROM live_tunnels WHERE bytes_up > 0').pluck().get() as number) < 2) await new Promise((resolve) => setTimeout(resolve, 50))

    // Concurrent signing; SIGKILL once enough certificates are out, with requests in flight.
    const received: Array<{ serial: string; key_id: string }> = []
    let killed = false
    let failedAfterKill = 0
    const signer = async (): Promise<void> => {
      while (!killed) {
        try {
          const answer = await signFor(first.url, alice.access_token, 'vm.example.com')
          if (answer.status === 200) received.push({ serial: answer.body.serial, key_id: answer.body.key_id })
          else throw new Error(`sign: ${answer.status} ${JSON.stringify(answer.body)}`)
        } catch (error) {
          if (!killed) throw error
          failedAfterKill++
        }
      }
    }
    const signers = Array.from({ length: 6 }, signer)
    while (received.length < 60) await new Promise((resolve) => setTimeout(resolve, 10))
    first.kill('SIGKILL')
    killed = true
    expect(await first.exited).toBe('SIGKILL')
    await Promise.all(signers)
    await Promise.all(droppedByKill)
    console.log(`SIGKILL with ${received.length} certificates received, ${failedAfterKill} requests cut off`)

    const restarted = performance.now()
    const second = await start()
    console.log(`restart and reconciliation: listening after ${(performance.now() - restarted).toFixed(0)} ms`)

    // Every certificate a client holds is recorded, with its audit event.
    const rows = new Set(readDatabase((db) => db.prepare('SELECT serial FROM certificates').pluck().all() as string[]))
    const events = auditEvents()
    const signed = new Set(events.filter((event) => event.type === 'cert.sign' && event.outcome === 'ok').map((event) => String(event.detail.serial)))
    for (const certificate of received) {
      expect(rows.has(certificate.serial), `certificate ${certificate.serial}`).toBe(true)
      expect(signed.has(certificate.serial), `cert.sign of ${certificate.serial}`).toBe(true)
    }

    // Each tunnel the dead process held open got its close at the restart, with the bytes of its last heartbeat.
    const opens = events.filter((event) => event.type === 'tunnel.open')
    expect(opens).toHaveLength(2)
    for (const [index, open] of opens.entries()) {
      const closes = events.filter((event) => event.type === 'tunnel.close' && event.detail.tunnel === open.detail.tunnel)
      expect(closes).toHaveLength(1)
      expect(closes[0]).toMatchObject({
        outcome: 'error', sessionId: alice.session_id,
        detail: { reason: 'server crashed', bytes_up: [3000, 5000][index], bytes_down: [3000, 5000][index], duration_ms: expect.any(Number), bytes_as_of: expect.any(String) },
      })
    }
    expect(readDatabase((db) => db.prepare('SELECT count(*) FROM live_tunnels').pluck().get())).toBe(0)
    const sessions = await adminCall<{ sessions: Array<{ session_id: string; live_tunnels: number }> }>(second.url, bob.access_token, 'sessions')
    expect(sessions.body.sessions.find((session) => session.session_id === alice.session_id)?.live_tunnels).toBe(0)

    // A clean stop after the crash, then: the chain verifies and the file is intact.
    second.kill('SIGTERM')
    expect(await second.exited).toBe(0)
    const verify = await runServerCli(['audit', 'verify', '--config', configPath])
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect(readDatabase((db) => db.pragma('integrity_check', { simple: true }))).toBe('ok')
    expect(readDatabase((db) => db.pragma('foreign_key_check'))).toEqual([])
  })
})

describe('a process taken for dead while it lives', () => {
  it('closes its tunnels at its next heartbeat (their close was written by the reaper, once) and registers again', async () => {
    const srv = await startTestServer({ targets: { 'echo.example.com': `127.0.0.1:${(echo.address() as AddressInfo).port}` } })
    try {
      const alice = await loginWithPassword(srv.url)
      const ws = await tunnelCarrying(srv.url, alice.access_token, 100)
      const closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }))
      const { replica, audit } = srv.server.context
      const before = replica.id
      // Another process reaps this one (as if its heartbeats had stopped reaching the database).
      const reaped = await audit.recordReaping(before, 'r-other', Date.now(), null, (tunnel, dead) => reconciledClose(tunnel, dead, 'r-other'))
      expect(reaped).toHaveLength(1)
      await replica.beat()
      expect(await closed).toEqual({ code: TUNNEL_CLOSE.GOING_AWAY, reason: 'the jitssh server was taken for dead by another replica and closed its tunnels: connect again' })
      expect(replica.id).not.toBe(before)
      const again = await tunnelCarrying(srv.url, alice.access_token, 10)
      again.close()
      await once(again, 'close')
      await srv.server.context.tunnels.stop('test over')
      const events = await srv.server.store.audit.read(0, 100_000)
      const opens = events.filter((event) => event.type === 'tunnel.open')
      expect(opens).toHaveLength(2)
      for (const open of opens) expect(events.filter((event) => event.type === 'tunnel.close' && event.detail.tunnel === open.detail.tunnel)).toHaveLength(1)
      expect(events.find((event) => event.type === 'tunnel.close' && event.detail.tunnel === opens[0]!.detail.tunnel)?.detail).toMatchObject({ reason: 'server crashed', reaped_by: 'r-other' })
    } finally {
      await srv.stop()
    }
  })
})
