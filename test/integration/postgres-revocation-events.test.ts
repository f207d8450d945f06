// Revocation fan-out through PostgreSQL: a revocation committed by one store instance (replica) reaches the
// others' onRevocation listeners (LISTEN/NOTIFY), never its own, only when something changed; when the
// listening connection is cut, the store reconnects and emits `resync` (what was sent meanwhile is lost).
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PostgresStore } from '../../src/server/store/postgres/postgres-store.js'
import type { RevocationEvent, SessionRow } from '../../src/server/store/store.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'

let postgres: TestPostgres
let a: PostgresStore
let b: PostgresStore
const heardByA: RevocationEvent[] = []
const heardByB: RevocationEvent[] = []
const RECONNECT_MIN_MS = 300

beforeAll(async () => {
  postgres = await startPostgres()
  const timing = { reconnectMinMs: RECONNECT_MIN_MS, reconnectMaxMs: 1_000, heartbeatMs: 10_000 }
  a = await PostgresStore.open({ url: postgres.url, poolSize: 3, listenForRevocations: true, listenerTiming: timing })
  b = await PostgresStore.open({ url: postgres.url, poolSize: 3, listenForRevocations: true, listenerTiming: timing })
  a.onRevocation((event) => heardByA.push(event))
  b.onRevocation((event) => heardByB.push(event))
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  await postgres?.stop()
})

/** Resolves with the next event `store` hears. */
function nextEvent(store: PostgresStore): Promise<RevocationEvent> {
  return new Promise((resolve) => {
    const unsubscribe = store.onRevocation((event) => {
      unsubscribe()
      resolve(event)
    })
  })
}

async function newSession(email = 'alice@example.com'): Promise<SessionRow> {
  const row: SessionRow = {
    id: randomBytes(9).toString('base64url'), identity: { sub: 'alice', username: 'alice', email, name: undefined, groups: [] }, auth: null, grant: 'authorization_code',
    createdAt: Date.now(), expiresAt: Date.now() + 3_600_000, revokedAt: null, revokedReason: null, clientIp: null, userAgent: null,
  }
  await a.sessions.create(row)
  return row
}

describe('revocation fan-out between store instances', () => {
  it('tells the other instance of a revoked session and a disabled user as they commit, and not the instance that made them', async () => {
    const session = await newSession()
    const heard = nextEvent(b)
    const started = performance.now()
    expect(await a.sessions.revoke(session.id, Date.now(), 'by an admin')).toBe(true)
    expect(await heard).toEqual({ kind: 'session', sessionId: session.id, reason: 'by an admin' })
    console.log(`store instance B heard the revocation ${(performance.now() - started).toFixed(1)} ms after A started it`)

    // Nothing changes, nothing is sent: a repeated revoke, a repeated disable, an enable.
    expect(await a.sessions.revoke(session.id, Date.now(), 'again')).toBe(false)
    const disabled = nextEvent(b)
    expect(await a.users.setDisabled('carol@example.com', true, Date.now(), 'bob@example.com', 'left')).toBe(true)
    expect(await disabled).toEqual({ kind: 'user', user: 'carol@example.com', reason: 'user disabled' })
    expect(await a.users.setDisabled('carol@example.com', true, Date.now(), 'bob@example.com', 'left')).toBe(false)
    expect(await a.users.setDisabled('carol@example.com', false, Date.now(), 'bob@example.com', null)).toBe(true)

    // B's revocation reaches A; notifications arrive in commit order, so had A heard its own, they would be here first.
    const other = await newSession()
    const heardByAOnce = nextEvent(a)
    await b.sessions.revoke(other.id, Date.now(), 'refresh token reused')
    expect(await heardByAOnce).toEqual({ kind: 'session', sessionId: other.id, reason: 'refresh token reused' })
    expect(heardByA).toEqual([{ kind: 'session', sessionId: other.id, reason: 'refresh token reused' }])
    expect(heardByB).toEqual([
      { kind: 'session', sessionId: session.id, reason: 'by an admin' },
      { kind: 'user', user: 'carol@example.com', reason: 'user disabled' },
    ])
  })

  it('reconnects when the listening connection is cut and then emits resync, since what was sent meanwhile is lost', async () => {
    const pid = b.revocationListener!.backendPid
    expect(pid).toBeTypeOf('number')
    const missed = await newSession()
    heardByB.length = 0
    const resynced = nextEvent(b)
    await a.db.query('SELECT pg_terminate_backend($1)', [pid])
    // Made while B is away (its first retry waits at least 0.75 x RECONNECT_MIN_MS): B cannot hear it.
    await a.sessions.revoke(missed.id, Date.now(), 'by an admin')
    expect(await resynced).toEqual({ kind: 'resync' })
    expect(heardByB).toEqual([{ kind: 'resync' }])
    expect(b.revocationListener!.backendPid).not.toBe(pid)

    // Listening again: the next revocation arrives as usual.
    const after = await newSession()
    const heard = nextEvent(b)
    await a.sessions.revoke(after.id, Date.now(), 'by an admin')
    expect(await heard).toEqual({ kind: 'session', sessionId: after.id, reason: 'by an admin' })
  })
})
