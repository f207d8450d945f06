// The admin API's reads of jitssh-server: audit search (each filter, a time window with an injected clock,
// paging both ways, exact results), session and tunnel listings, the 403 for non-admins (audited), and
// every malformed request a 400 that says what to send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent, AuditPage, SessionList } from '../../src/shared/protocol.js'
import type { AuditRecord } from '../../src/server/store/store.js'
import { adminCall, signFor } from '../helpers/admin.js'
import { DEFAULT_USERS, loginWithPassword, startTestServer, testClock, type TestServer } from '../helpers/server.js'

const MINUTE = 60_000
const T0 = Date.parse('2026-11-19T13:00:00.000Z')
const clock = testClock(T0)
const at = (minutes: number): string => new Date(T0 + minutes * MINUTE).toISOString()
let srv: TestServer
let alice: Awaited<ReturnType<typeof loginWithPassword>>
let bob: Awaited<ReturnType<typeof loginWithPassword>>
let carol: Awaited<ReturnType<typeof loginWithPassword>>
let all: AuditRecord[]

beforeAll(async () => {
  srv = await startTestServer({
    now: clock.now,
    users: [...DEFAULT_USERS, { username: 'carol', email: 'carol@example.com', groups: ['dev'] }],
    config: { admins: { groups: ['ops'] } },
  })
  // A known history: logins at T0, then one step every 2 minutes.
  alice = await loginWithPassword(srv.url, 'alice')
  bob = await loginWithPassword(srv.url, 'bob')
  carol = await loginWithPassword(srv.url, 'carol')
  clock.advance(2 * MINUTE)
  expect((await signFor(srv.url, alice.access_token, 'vm1.example.com')).status).toBe(200)
  clock.advance(2 * MINUTE)
  expect((await signFor(srv.url, alice.access_token, 'db.example.com')).status).toBe(200)
  expect((await signFor(srv.url, carol.access_token, 'vm1.example.com')).status).toBe(200)
  clock.advance(2 * MINUTE)
  expect((await signFor(srv.url, bob.access_token, 'vm1.example.com')).status).toBe(403) // ops has no policy: access.denied
  clock.advance(2 * MINUTE)
  expect((await signFor(srv.url, alice.access_token, 'vm1.example.com')).status).toBe(200)
  all = await srv.server.store.audit.read(0, 100_000)
})
afterAll(async () => {
  await srv?.stop()
})

async function search(query: Record<string, string>, token = bob.access_token): Promise<AuditPage> {
  const response = await adminCall<AuditPage>(srv.url, token, `audit?${new URLSearchParams(query)}`)
  expect(response.status, JSON.stringify(response.body)).toBe(200)
  return response.body
}

/** The same search done by hand over the whole log, newest first. */
function expected(match: (event: AuditRecord) => boolean): number[] {
  return all.filter(match).map((event) => event.seq).reverse()
}
const seqs = (events: AuditEvent[]): number[] => events.map((event) => event.seq)

describe('GET /v1/admin/audit', () => {
  it('a time window returns exactly the events inside it (since inclusive, until exclusive), newest first', async () => {
    const page = await search({ since: at(2), until: at(6) })
    expect(page.events.map((e) => [e.type, e.user, e.host, e.time])).toEqual([
      ['cert.sign', 'carol@example.com', 'vm1.example.com', at(4)],
      ['cert.sign', 'alice@example.com', 'db.example.com', at(4)],
      ['cert.sign', 'alice@example.com', 'vm1.example.com', at(2)],
    ])
    expect(seqs(page.events)).toEqual(expected((e) => e.time >= at(2) && e.time < at(6)))
    expect(page.next_cursor).toBeNull()
  })

  it('accepts the window as Unix seconds and as ISO 8601 with an offset, with the same result', async () => {
    const iso = await search({ since: at(2), until: at(6) })
    const unix = await search({ since: String((T0 + 2 * MINUTE) / 1000), until: String((T0 + 6 * MINUTE) / 1000) })
    const offset = await search({ since: '2026-11-19T14:02:00+01:00', until: '2026-11-19T14:06:00+0100' })
    expect(seqs(unix.events)).toEqual(seqs(iso.events))
    expect(seqs(offset.events)).toEqual(seqs(iso.events))
  })

  it.each([
    ['user (email)', { user: 'carol@example.com' }, (e: AuditRecord) => e.user === 'carol@example.com'],
    ['user (username)', { user: 'alice' }, (e: AuditRecord) => e.user === 'alice@example.com'],
    ['host', { host: 'vm1.example.com' }, (e: AuditRecord) => e.host === 'vm1.example.com'],
    ['type', { type: 'cert.sign' }, (e: AuditRecord) => e.type === 'cert.sign'],
    ['type family', { type: 'token' }, (e: AuditRecord) => e.type.startsWith('token.')],
    ['two types', { type: 'access.denied,login' }, (e: AuditRecord) => e.type === 'access.denied' || e.type === 'login'],
    ['all filters at once', { user: 'alice', host: 'vm1.example.com', type: 'cert.sign', since: at(3) }, (e: AuditRecord) => e.user === 'alice@example.com' && e.host === 'vm1.example.com' && e.type === 'cert.sign' && e.time >= at(3)],
  ])('filter by %s returns exactly the matching events', async (_name, query, match) => {
    const want = expected(match)
    expect(want.length).toBeGreaterThan(0)
    expect(seqs((await search(query)).events)).toEqual(want)
  })

  it('answers "who reached vm1 between :01 and :07": alice, carol, and bob (refused)', async () => {
    const page = await search({ host: 'vm1.example.com', since: at(1), until: at(7) })
    expect(page.events.map((e) => `${e.user} ${e.type} ${e.outcome}`)).toEqual([
      'bob@example.com access.denied denied',
      'carol@example.com cert.sign ok',
      'alice@example.com cert.sign ok',
    ])
  })

  it('pages with an opaque cursor, newest first by default and oldest first with order=asc', async () => {
    const whole = await search({ type: 'cert.sign,access.denied' })
    for (const order of ['desc', 'asc'] as const) {
      const paged: number[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const page: AuditPage = await search({ type: 'cert.sign,access.denied', limit: '2', order, ...(cursor ? { cursor } : {}) })
        expect(page.events.length).toBeLessThanOrEqual(2)
        paged.push(...seqs(page.events))
        cursor = page.next_cursor
        pages++
      } while (cursor !== null && pages < 10)
      expect(paged).toEqual(order === 'desc' ? seqs(whole.events) : [...seqs(whole.events)].reverse())
      expect(pages).toBe(3) // 5 events, 2 per page
    }
  })

  it('refuses a cursor used with other filters, a forged cursor, and bad parameters, each with what to send', async () => {
    const first = await search({ type: 'cert.sign', limit: '1' })
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ type: 'login', cursor: first.next_cursor! }, /cursor belongs to a search with other filters/],
      [{ cursor: 'bm90LWEtY3Vyc29y' }, /cursor is not valid/],
      [{ since: 'last tuesday' }, /since must be ISO 8601 with a zone .* or Unix seconds/],
      [{ until: '2026-02-30' }, /until must be ISO 8601/],
      [{ type: 'DROP TABLE' }, /is not an event type/],
      [{ limit: '0' }, /limit must be a number from 1 to 1000/],
      [{ order: 'sideways' }, /order must be desc .* or asc/],
      [{ host: 'not a host!' }, /hostname|host/],
      [{ user: 'nobody' }, /no local user named nobody is configured on this server: give the email address instead/],
    ]
    for (const [query, message] of cases) {
      const response = await adminCall(srv.url, bob.access_token, `audit?${new URLSearchParams(query)}`)
      expect(response.status, JSON.stringify(query)).toBe(query.user ? 404 : 400)
      expect(response.body.message).toMatch(message)
    }
  })
})

describe('GET /v1/admin/sessions and /tunnels', () => {
  it('lists active sessions with user, times and live tunnel count', async () => {
    const { body, status } = await adminCall<SessionList>(srv.url, bob.access_token, 'sessions')
    expect(status).toBe(200)
    const byUser = Object.fromEntries(body.sessions.map((s) => [s.user, s]))
    expect(Object.keys(byUser).sort()).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com'])
    expect(byUser['alice@example.com']).toMatchObject({ session_id: alice.session_id, created_at: at(0), state: 'active', revoked_at: null, live_tunnels: 0, grant: 'authorization_code' })
    expect(Date.parse(byUser['alice@example.com']!.expires_at)).toBeGreaterThan(T0)
    const onlyCarol = await adminCall<SessionList>(srv.url, bob.access_token, 'sessions?user=carol')
    expect(onlyCarol.body.sessions.map((s) => s.session_id)).toEqual([carol.session_id])
    const tunnels = await adminCall(srv.url, bob.access_token, 'tunnels')
    expect(tunnels).toEqual({ status: 200, body: { tunnels: [] } })
  })
})

describe('only admins', () => {
  it.each([
    ['GET', 'audit', undefined],
    ['GET', 'sessions?all=1', undefined],
    ['GET', 'tunnels', undefined],
    ['GET', 'users/disabled', undefined],
    ['POST', 'revoke', { user: 'bob@example.com' }],
    ['POST', 'users/disable', { user: 'bob' }],
    ['POST', 'users/enable', { user: 'bob' }],
  ])('%s %s: 403 with a clear message for a non-admin (audited), 401 without a token', async (_method, path, body) => {
    const before = (await srv.server.store.audit.read(0, 100_000)).length
    const denied = await adminCall(srv.url, alice.access_token, path, body)
    expect(denied).toEqual({ status: 403, body: { error: 'ERR_FORBIDDEN', message: 'admin rights needed: alice@example.com is not an admin of this server' } })
    const events = (await srv.server.store.audit.read(before, 100)).filter((e) => e.type === 'access.denied')
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ user: 'alice@example.com', outcome: 'denied', detail: { action: 'admin', path: `/v1/admin/${path.split('?')[0]}` } })
    const anonymous = await adminCall(srv.url, null, path, body)
    expect(anonymous.status).toBe(401)
    expect(anonymous.body.error).toBe('ERR_NOT_LOGGED_IN')
  })

  it('admins are also named by user (username or email), not only by group', async () => {
    const other = await startTestServer({ config: { admins: { users: ['alice@example.com'] } } })
    try {
      const aliceThere = await loginWithPassword(other.url, 'alice')
      const bobThere = await loginWithPassword(other.url, 'bob')
      expect((await adminCall(other.url, aliceThere.access_token, 'sessions')).status).toBe(200)
      expect((await adminCall(other.url, bobThere.access_token, 'sessions')).status).toBe(403)
    } finally {
      await other.stop()
    }
  })
})
