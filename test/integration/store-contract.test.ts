// The Store contract, run against every implementation on a real database: SQLite (a temp file) and
// PostgreSQL (a private server, test/helpers/postgres.ts). Compare-and-set methods have exactly one winner
// even when two Store instances on the same database race; concurrent audit appends from two instances keep
// one unbroken hash chain.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isJitsshError } from '../../src/shared/errors.js'
import { verifyAuditChain } from '../../src/server/audit/audit-verify.js'
import type { Identity } from '../../src/server/identity/identity.js'
import { PostgresStore } from '../../src/server/store/postgres/postgres-store.js'
import { SqliteStore } from '../../src/server/store/sqlite/sqlite-store.js'
import type { AccessRequestChange, AccessRequestRow, AccessReviewRow, AuditDraft, CertificateRow, LiveTunnelRow, ReplicaRow, SessionRow, Store } from '../../src/server/store/store.js'
import { TEST_CHAIN_KEY, sealWith } from '../helpers/audit.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'

/** Opens Store instances on one fresh database (`open()` again gives a second instance, like a second replica). */
interface Backend {
  name: string
  fresh(): Promise<{ open(): Promise<Store>; cleanup(): Promise<void> }>
}

let postgres: TestPostgres | undefined
const backends: Backend[] = [
  {
    name: 'SQLite',
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'jitssh-store-'))
      return { open: async () => new SqliteStore(join(dir, 'jitssh.db')), cleanup: async () => rmSync(dir, { recursive: true, force: true }) }
    },
  },
  {
    name: 'PostgreSQL',
    async fresh() {
      postgres ??= await startPostgres()
      const url = await postgres.createDatabase()
      return { open: () => PostgresStore.open({ url, poolSize: 5, listenForRevocations: false }), cleanup: async () => undefined }
    },
  },
]
afterAll(async () => postgres?.stop())

const NOW = Date.UTC(2030, 0, 2, 12, 0, 0)
const seal = sealWith(TEST_CHAIN_KEY)
const id = (prefix: string): string => `${prefix}-${randomBytes(6).toString('hex')}`
const identityOf = (username: string): Identity => ({ sub: username, username, email: `${username}@example.com`, name: username.toUpperCase(), groups: ['dev'] })
function sessionRow(username: string, overrides: Partial<SessionRow> = {}): SessionRow {
  return { id: id('s'), identity: identityOf(username), auth: { time: NOW - 5, method: 'password', webSession: id('w') }, grant: 'authorization_code', createdAt: NOW, expiresAt: NOW + 3_600_000, revokedAt: null, revokedReason: null, clientIp: '127.0.0.1', userAgent: 'test', ...overrides }
}
/** Rows of the used-token-id table, read behind the store (the purge has no other observable effect). */
async function usedTokenIds(store: Store): Promise<number> {
  if (store instanceof SqliteStore) return store.db.prepare('SELECT count(*) FROM used_token_ids').pluck().get() as number
  return Number((await (store as PostgresStore).db.rows('SELECT count(*) AS n FROM used_token_ids'))[0]!.n)
}
function draft(type: string, overrides: Partial<AuditDraft> = {}): AuditDraft {
  return { type, user: null, sessionId: null, host: null, outcome: 'ok', detail: {}, ...overrides }
}
function certificate(session: SessionRow, validBefore: number): CertificateRow {
  const serial = BigInt(`0x${randomBytes(8).toString('hex')}`) | 1n
  return {
    serial: serial.toString(), sessionId: session.id, userEmail: session.identity.email, host: 'vm.example.com', principals: [session.identity.username, 'deploy'],
    keyId: `jitssh:${session.id}`, fingerprint: 'SHA256:test', validAfter: Math.floor(NOW / 1000) - 60, validBefore, issuedAt: NOW, grantId: null,
  }
}

/** Text that one dialect kept and the other refused (NUL), or that comes back changed (lone surrogates), and what must just work. */
const HOSTILE_TEXT = ['', ' ', 'a\u0000b', '\u0000', 'x\ud800', '\udfffx', '\u202egnp.exe', '\x1b[2J\r\n\x9b', '\u{1f600} ünïcode', "' OR 1=1 --", '%00', 'x'.repeat(100_000)]
/** What both dialects give back for `text`: UTF-8 has no lone surrogates, so each arrives as U+FFFD. */
const asStored = (text: string): string => text.replace(/\p{Cs}/gu, '\ufffd')
/** The value, or 'refused' when the store refused it as the same 400 on both dialects. */
async function outcomeOf<T>(run: () => Promise<T>): Promise<T | 'refused'> {
  try {
    return await run()
  } catch (error) {
    if (isJitsshError(error, 'ERR_BAD_REQUEST')) return 'refused'
    throw error
  }
}

for (const backend of backends) {
  describe(`Store contract: ${backend.name}`, () => {
    let store: Store
    let replica: Store
    let cleanup: () => Promise<void>
    beforeAll(async () => {
      const database = await backend.fresh()
      store = await database.open()
      replica = await database.open()
      cleanup = database.cleanup
    })
    afterAll(async () => {
      await store?.close()
      await replica?.close()
      await cleanup?.()
    })

    it('sessions: create, read back, revoke exactly once, list active and ended, count active, find an email by username', async () => {
      const session = sessionRow('alice')
      await store.sessions.create(session)
      expect(await replica.sessions.get(session.id)).toEqual(session)
      expect(await store.sessions.get('no-such-session')).toBeUndefined()
      const ended = sessionRow('alice', { createdAt: NOW - 10, expiresAt: NOW - 1 })
      await store.sessions.create(ended)

      const outcomes = await Promise.all([store.sessions.revoke(session.id, NOW + 5, 'by an admin'), replica.sessions.revoke(session.id, NOW + 6, 'again')])
      expect(outcomes.filter(Boolean)).toHaveLength(1)
      const revoked = await store.sessions.get(session.id)
      expect(revoked?.revokedAt === NOW + 5 ? revoked.revokedReason : revoked?.revokedReason).toBe(revoked?.revokedAt === NOW + 5 ? 'by an admin' : 'again')
      expect(await store.sessions.revoke('no-such-session', NOW, 'x')).toBe(false)

      const active = sessionRow('alice', { createdAt: NOW + 1 })
      await store.sessions.create(active)
      expect((await store.admin.listSessions({ now: NOW, includeEnded: false, userEmail: 'alice@example.com', limit: 10 })).map((s) => s.id)).toEqual([active.id])
      expect((await store.admin.listSessions({ now: NOW, includeEnded: true, userEmail: 'alice@example.com', limit: 10 })).map((s) => s.id)).toEqual([active.id, session.id, ended.id])
      expect(await store.admin.listSessions({ now: NOW, includeEnded: true, userEmail: 'alice@example.com', limit: 1 })).toHaveLength(1)
      expect(await store.admin.findEmailBySubject('alice')).toBe('alice@example.com')
      const oidc = sessionRow('x', { identity: { ...identityOf('dana'), sub: 'oidc:1234' } })
      await store.sessions.create(oidc)
      expect(await store.admin.findEmailBySubject('dana')).toBeUndefined() // a username is not a subject
      expect(await store.admin.findEmailBySubject('oidc:1234')).toBe('dana@example.com')
      expect(await store.admin.findEmailBySubject('nobody')).toBeUndefined()
      // Active = neither revoked nor ended: `active` and `oidc`, not the revoked or the ended one.
      expect(await replica.admin.countActiveSessions(NOW)).toBe(2)
      expect(await store.admin.countActiveSessions(NOW + 3_600_000)).toBe(0)
    })

    it('browser sessions: create, read, delete one or all of a person, take the sign-in flow once', async () => {
      const webRow = (username: string, flow: string | null = null) => ({
        idHash: id('w'), identity: identityOf(username), auth: { time: NOW, method: 'oidc' as const, upstreamId: id('u'), amr: ['pwd'], acr: 'urn:x' }, createdAt: NOW, expiresAt: NOW + 60_000, flow,
      })
      const row = webRow('bob', 'flow-hash')
      await store.sessions.createWeb(row)
      expect(await replica.sessions.getWeb(row.idHash)).toEqual(row)
      const takes = await Promise.all([store.sessions.takeWebFlow(row.idHash, 'flow-hash'), replica.sessions.takeWebFlow(row.idHash, 'flow-hash')])
      expect(takes.filter(Boolean)).toHaveLength(1)
      expect(await store.sessions.takeWebFlow(row.idHash, 'other')).toBe(false)
      expect((await store.sessions.getWeb(row.idHash))?.flow).toBeNull()
      await replica.sessions.deleteWeb(row.idHash)
      expect(await store.sessions.getWeb(row.idHash)).toBeUndefined()

      const [a, b, other] = [webRow('kim'), webRow('kim'), webRow('lee')]
      for (const web of [a, b, other]) await store.sessions.createWeb(web)
      expect(await replica.sessions.deleteWebOf({ email: 'kim@example.com' })).toBe(2)
      expect(await store.sessions.getWeb(a.idHash)).toBeUndefined()
      expect(await store.sessions.getWeb(other.idHash)).toEqual(other)
      expect(await replica.sessions.deleteWebOf({ sub: 'lee' })).toBe(1)
      expect(await store.sessions.getWeb(other.idHash)).toBeUndefined()
    })

    it('web sessions of terminals: of two concurrent createIfAbsent (two instances) exactly one creates', async () => {
      const row = sessionRow('kay', { grant: 'web' })
      const created = await Promise.all([store.sessions.createIfAbsent(row), replica.sessions.createIfAbsent({ ...row, clientIp: 'other' })])
      expect(created.filter(Boolean)).toHaveLength(1)
      expect((await store.sessions.get(row.id))?.grant).toBe('web')
      expect(await store.sessions.createIfAbsent(row)).toBe(false)
    })

    it('terminal tickets: taken once (two instances race), never when expired, purged when expired', async () => {
      const ticket = (expiresAt: number) => ({ ticketHash: id('t'), webSession: id('w'), host: 'vm.example.com', login: 'alice', createdAt: NOW, expiresAt })
      for (let round = 0; round < 5; round++) {
        const live = ticket(NOW + 30_000)
        await store.sessions.createTerminalTicket(live)
        const takes = await Promise.all([store.sessions.takeTerminalTicket(live.ticketHash, NOW), replica.sessions.takeTerminalTicket(live.ticketHash, NOW)])
        expect(takes.filter(Boolean)).toEqual([live])
      }
      const stale = ticket(NOW - 1)
      await store.sessions.createTerminalTicket(stale)
      expect(await replica.sessions.takeTerminalTicket(stale.ticketHash, NOW)).toBeUndefined()
      expect(await store.sessions.takeTerminalTicket(stale.ticketHash, NOW - 10)).toBeUndefined() // gone: taking an expired one used it up
      const purged = ticket(NOW - 1)
      await store.sessions.createTerminalTicket(purged)
      await store.purgeExpired(NOW, NOW - 60_000)
      expect(await store.sessions.takeTerminalTicket(purged.ticketHash, NOW - 10)).toBeUndefined()
      expect(await store.sessions.takeTerminalTicket('unknown', NOW)).toBeUndefined()
    })

    it('recordings: created, appended in chunks, ended once, listed by user, host and time, read in pages, purged with their chunks', async () => {
      const recording = (user: string, host: string, startedAt: number) => ({
        id: id('rec'), sessionId: id('s'), userEmail: `${user}@example.com`, host, login: user, startedAt, endedAt: null, durationMs: null, size: null, sha256: null,
        recordInput: user === 'mo', width: 80, height: 24,
      })
      const base = NOW + 5_000_000
      const [a, b, c] = [recording('lu', 'a.example.com', base), recording('lu', 'b.example.com', base + 10), recording('mo', 'a.example.com', base + 20)]
      for (const row of [a, b, c]) await store.recordings.create(row)
      expect(await replica.recordings.get(c.id)).toEqual(c)
      const lines = Array.from({ length: 7 }, (_unused, index) => `[${index}.5, "o", "line ${index} \u00e9\u2500\ud83d\ude00"]\n`)
      for (const [seq, data] of lines.entries()) await (seq % 2 ? store : replica).recordings.append(a.id, seq, data)
      expect((await replica.recordings.chunks(a.id, -1, 3)).map((chunk) => chunk.seq)).toEqual([0, 1, 2])
      const all = await replica.recordings.chunks(a.id, 2, 100)
      expect(all.map((chunk) => chunk.data)).toEqual(lines.slice(3))
      const end = { endedAt: base + 1_000, durationMs: 1_000, size: 123, sha256: 'ab'.repeat(32) }
      const finishes = await Promise.all([store.recordings.finish(a.id, end), replica.recordings.finish(a.id, { ...end, size: 1 })])
      expect(finishes.filter(Boolean)).toHaveLength(1)
      expect(await store.recordings.get(a.id)).toMatchObject({ endedAt: base + 1_000, durationMs: 1_000, sha256: 'ab'.repeat(32) })
      expect(await store.recordings.finish('unknown', end)).toBe(false)

      const ids = (rows: Array<{ id: string }>) => rows.map((row) => row.id)
      const since = { since: base, limit: 100 }
      expect(ids(await replica.recordings.list(since))).toEqual([c.id, b.id, a.id])
      expect(ids(await replica.recordings.list({ ...since, userEmail: 'lu@example.com' }))).toEqual([b.id, a.id])
      expect(ids(await replica.recordings.list({ ...since, host: 'a.example.com' }))).toEqual([c.id, a.id])
      expect(ids(await replica.recordings.list({ since: base + 5, until: base + 20, limit: 100 }))).toEqual([b.id])
      expect(ids(await replica.recordings.list({ ...since, limit: 1 }))).toEqual([c.id])

      expect(await store.recordings.purge(base + 10)).toBeGreaterThanOrEqual(1)
      expect(await replica.recordings.get(a.id)).toBeUndefined()
      expect(await replica.recordings.chunks(a.id, -1, 100)).toEqual([])
      expect(ids(await replica.recordings.list(since))).toEqual([c.id, b.id])
    })

    it('upstream grants: kept, read back, one re-check wins, updated, ended once', async () => {
      const grant = { id: id('g'), sub: 'oidc:https://idp.example#1', claims: { sub: '1', email: 'x@example.com', groups: ['dev'] }, refreshToken: 'sealed', authTime: NOW - 100, checkedAt: NOW, endedAt: null, endedReason: null }
      await store.upstream.create(grant)
      expect(await replica.upstream.get(grant.id)).toEqual(grant)
      const claims = await Promise.all([store.upstream.claimCheck(grant.id, NOW, NOW + 10), replica.upstream.claimCheck(grant.id, NOW, NOW + 11)])
      expect(claims.filter(Boolean)).toHaveLength(1)
      await store.upstream.update(grant.id, { claims: { ...grant.claims, groups: ['ops'] }, refreshToken: 'sealed-2', checkedAt: NOW + 12 })
      expect(await replica.upstream.get(grant.id)).toMatchObject({ claims: { groups: ['ops'] }, refreshToken: 'sealed-2', checkedAt: NOW + 12 })
      const ends = await Promise.all([store.upstream.end(grant.id, NOW + 20, 'refused'), replica.upstream.end(grant.id, NOW + 21, 'again')])
      expect(ends.filter(Boolean)).toHaveLength(1)
      expect(await store.upstream.get(grant.id)).toMatchObject({ refreshToken: null, endedReason: ends[0] ? 'refused' : 'again' })
      expect(await store.upstream.claimCheck(grant.id, NOW + 12, NOW + 30)).toBe(false)
      expect(await store.upstream.get('unknown')).toBeUndefined()
    })

    it('authorization codes: of two concurrent consumes (two instances) exactly one is the first use', async () => {
      const session = sessionRow('alice')
      await store.sessions.create(session)
      const code = { codeHash: id('c'), clientId: 'jitssh-cli', redirectUri: 'http://127.0.0.1:1/callback', codeChallenge: 'x'.repeat(43), identity: identityOf('alice'), auth: { time: NOW, method: 'password' as const, webSession: 'w1' }, createdAt: NOW, expiresAt: NOW + 60_000, usedAt: null, sessionId: null }
      await store.oauth.insertAuthCode(code)
      for (let round = 0; round < 5; round++) {
        const hash = round === 0 ? code.codeHash : id('c')
        if (round > 0) await store.oauth.insertAuthCode({ ...code, codeHash: hash })
        const results = await Promise.all([store.oauth.consumeAuthCode(hash, NOW + 1), replica.oauth.consumeAuthCode(hash, NOW + 2), store.oauth.consumeAuthCode(hash, NOW + 3)])
        expect(results.filter((result) => result?.firstUse)).toHaveLength(1)
        expect(results.find((result) => result?.firstUse)!.row).toEqual({ ...code, codeHash: hash, usedAt: null })
      }
      await store.oauth.attachSessionToAuthCode(code.codeHash, session.id)
      const replay = await replica.oauth.consumeAuthCode(code.codeHash, NOW + 10)
      expect(replay?.firstUse).toBe(false)
      expect(replay?.row.sessionId).toBe(session.id)
      expect(replay?.row.usedAt).toBeGreaterThanOrEqual(NOW + 1)
      expect(await store.oauth.consumeAuthCode('unknown', NOW)).toBeUndefined()
    })

    it('refresh tokens: one use; of two concurrent uses (two instances) exactly one wins, the other is a reuse', async () => {
      const session = sessionRow('alice')
      await store.sessions.create(session)
      for (let round = 0; round < 5; round++) {
        const token = { tokenHash: id('r'), sessionId: session.id, createdAt: NOW, expiresAt: NOW + 86_400_000, usedAt: null }
        await store.oauth.insertRefreshToken(token)
        expect(await replica.oauth.getRefreshToken(token.tokenHash)).toEqual(token)
        const wins = await Promise.all([store.oauth.markRefreshTokenUsed(token.tokenHash, NOW + 1), replica.oauth.markRefreshTokenUsed(token.tokenHash, NOW + 2)])
        expect(wins.filter(Boolean)).toHaveLength(1)
        expect(await store.oauth.markRefreshTokenUsed(token.tokenHash, NOW + 3)).toBe(false)
        expect((await store.oauth.getRefreshToken(token.tokenHash))?.usedAt).toBe(wins[0] ? NOW + 1 : NOW + 2)
      }
      expect(await store.oauth.getRefreshToken('unknown')).toBeUndefined()
    })

    it('device codes: poll, decide once (approve and deny race), consume once', async () => {
      const session = sessionRow('alice')
      await store.sessions.create(session)
      const row = {
        deviceCodeHash: id('d'), userCode: randomBytes(4).toString('hex').toUpperCase(), clientId: 'jitssh-cli', createdAt: NOW, expiresAt: NOW + 600_000,
        intervalSeconds: 5, lastPolledAt: null, status: 'pending' as const, identity: null, auth: null, decidedAt: null, requesterIp: '10.0.0.1', requesterUserAgent: 'cli', sessionId: null,
      }
      await store.oauth.insertDeviceCode(row)
      expect(await replica.oauth.getDeviceCode(row.deviceCodeHash)).toEqual(row)
      await store.oauth.recordDevicePoll(row.deviceCodeHash, NOW + 5_000, 10)
      expect(await replica.oauth.getDeviceCodeByUserCode(row.userCode)).toMatchObject({ lastPolledAt: NOW + 5_000, intervalSeconds: 10 })
      expect(await store.oauth.consumeDeviceCode(row.deviceCodeHash, session.id)).toBe(false)
      const decisions = await Promise.all([
        store.oauth.decideDeviceCode(row.userCode, 'approved', { identity: identityOf('alice'), auth: { time: NOW, method: 'password', webSession: 'w2' } }, NOW + 6_000),
        replica.oauth.decideDeviceCode(row.userCode, 'denied', null, NOW + 6_001),
      ])
      expect(decisions.filter(Boolean)).toHaveLength(1)
      if (decisions[1]) return // denied won: nothing to consume
      expect(await store.oauth.getDeviceCode(row.deviceCodeHash)).toMatchObject({ status: 'approved', identity: identityOf('alice'), auth: { webSession: 'w2' }, decidedAt: NOW + 6_000 })
      const consumed = await Promise.all([store.oauth.consumeDeviceCode(row.deviceCodeHash, session.id), replica.oauth.consumeDeviceCode(row.deviceCodeHash, session.id)])
      expect(consumed.filter(Boolean)).toHaveLength(1)
      expect(await store.oauth.getDeviceCode(row.deviceCodeHash)).toMatchObject({ status: 'consumed', sessionId: session.id })
    })

    it('certificates: recorded with their audit event, listed by session and by user', async () => {
      const session = sessionRow('carol')
      await store.sessions.create(session)
      const cert = certificate(session, Math.floor(NOW / 1000) + 3600)
      const event = await store.certificates.record(cert, draft('cert.sign', { user: 'carol@example.com', sessionId: session.id, host: 'vm.example.com', detail: { serial: cert.serial } }), NOW, seal)
      expect(event).toMatchObject({ type: 'cert.sign', user: 'carol@example.com', detail: { serial: cert.serial } })
      expect(await replica.certificates.list({ sessionId: session.id })).toEqual([cert])
      expect(await replica.certificates.list({ userEmail: 'carol@example.com' })).toEqual([cert])
      expect((await store.audit.read(event.seq - 1, 1))[0]).toEqual(event)
    })

    it('audit: concurrent appends from two instances make one unbroken chain; head is the newest row', async () => {
      const before = await verifyAuditChain(store, TEST_CHAIN_KEY)
      const appends = Array.from({ length: 120 }, (_unused, index) =>
        (index % 2 === 0 ? store : replica).audit.append(draft('test.concurrent', { user: `u${index}@example.com`, detail: { index, nested: { b: 1, a: [index] } } }), NOW + index, seal))
      const records = await Promise.all(appends)
      expect(new Set(records.map((record) => record.seq)).size).toBe(120)
      const after = await verifyAuditChain(replica, TEST_CHAIN_KEY)
      expect(after.problems).toEqual([])
      expect(after.events).toBe(before.events + 120)
      const stored = await store.audit.read(0, 100_000)
      expect(stored.map((record) => record.seq)).toEqual(stored.map((_record, index) => index + 1))
      const record = records[7]!
      expect(stored.find((row) => row.seq === record.seq)).toEqual(record)
      expect(await replica.audit.head()).toEqual(stored[stored.length - 1])
    })

    it('audit search: by user, host, type family, time range, order and paging', async () => {
      const base = NOW + 1_000_000
      const written = []
      for (const [offset, type, user, host] of [
        [0, 'tunnel.open', 'erin@example.com', 'a.example.com'], [1, 'tunnel.close', 'erin@example.com', 'a.example.com'], [2, 'tunnels', 'erin@example.com', null],
        [3, 'tunnel', 'erin@example.com', 'b.example.com'], [4, 'cert.sign', 'erin@example.com', 'a.example.com'], [5, 'tunnel.open', 'frank@example.com', 'a.example.com'],
      ] as const) {
        written.push(await store.audit.append(draft(type, { user, host, outcome: 'ok' }), base + offset * 1000, seal))
      }
      const seqs = (records: Array<{ seq: number }>): number[] => records.map((record) => record.seq)
      const at = (offset: number): string => new Date(base + offset * 1000).toISOString()
      const erin = { user: 'erin@example.com', order: 'asc' as const, limit: 100 }
      expect(seqs(await replica.admin.searchAudit({ ...erin, types: ['tunnel'] }))).toEqual(seqs([written[0]!, written[1]!, written[3]!]))
      expect(seqs(await replica.admin.searchAudit({ ...erin, types: ['tunnel.open', 'cert'] }))).toEqual(seqs([written[0]!, written[4]!]))
      expect(seqs(await replica.admin.searchAudit({ ...erin, host: 'a.example.com' }))).toEqual(seqs([written[0]!, written[1]!, written[4]!]))
      expect(seqs(await replica.admin.searchAudit({ ...erin, since: at(1), until: at(4) }))).toEqual(seqs(written.slice(1, 4)))
      expect(seqs(await replica.admin.searchAudit({ host: 'a.example.com', types: ['tunnel.open'], order: 'desc', limit: 100 }))).toEqual(seqs([written[5]!, written[0]!]))
      const page1 = await replica.admin.searchAudit({ ...erin, order: 'desc', limit: 2 })
      expect(seqs(page1)).toEqual(seqs([written[4]!, written[3]!]))
      expect(seqs(await replica.admin.searchAudit({ ...erin, order: 'desc', limit: 2, afterSeq: page1[1]!.seq }))).toEqual(seqs([written[2]!, written[1]!]))
      expect(seqs(await replica.admin.searchAudit({ ...erin, afterSeq: written[3]!.seq }))).toEqual(seqs([written[4]!]))
    })

    it('disabled users: change only when it changes, listed while disabled', async () => {
      expect(await store.users.setDisabled('gina@example.com', false, NOW, 'bob@example.com', null)).toBe(false)
      const disables = await Promise.all([
        store.users.setDisabled('gina@example.com', true, NOW + 1, 'bob@example.com', 'left'),
        replica.users.setDisabled('gina@example.com', true, NOW + 2, 'bob@example.com', 'left'),
      ])
      expect(disables.filter(Boolean)).toHaveLength(1)
      expect(await replica.users.isDisabled('gina@example.com')).toBe(true)
      expect(await replica.users.isDisabled('nobody@example.com')).toBe(false)
      expect(await replica.admin.listDisabledUsers()).toEqual([{ email: 'gina@example.com', disabled: true, changedAt: disables[0] ? NOW + 1 : NOW + 2, changedBy: 'bob@example.com', reason: 'left' }])
      expect(await store.users.setDisabled('gina@example.com', false, NOW + 3, 'bob@example.com', 'back')).toBe(true)
      expect(await store.users.setDisabled('gina@example.com', false, NOW + 4, 'bob@example.com', 'back')).toBe(false)
      expect(await replica.users.isDisabled('gina@example.com')).toBe(false)
      expect(await replica.admin.listDisabledUsers()).toEqual([])
    })

    it('revoked certificates: unexpired ones of revoked sessions and disabled users, with a growing version', async () => {
      const nowSeconds = Math.floor(NOW / 1000)
      const before = await store.certificates.listRevoked(nowSeconds)
      const kept = sessionRow('hank')
      const revoked = sessionRow('hank')
      const disabled = sessionRow('ivy')
      for (const session of [kept, revoked, disabled]) await store.sessions.create(session)
      const live = { kept: certificate(kept, nowSeconds + 600), revoked: certificate(revoked, nowSeconds + 600), expired: certificate(revoked, nowSeconds - 1), disabled: certificate(disabled, nowSeconds + 600) }
      for (const cert of Object.values(live)) await store.certificates.record(cert, draft('cert.sign'), NOW, seal)
      await store.sessions.revoke(revoked.id, NOW + 10, 'by an admin')
      const afterRevoke = await replica.certificates.listRevoked(nowSeconds)
      expect(afterRevoke.serials).toEqual([...before.serials, live.revoked.serial].sort())
      expect(afterRevoke.version).toBe(Math.max(before.version, NOW + 10))
      await store.users.setDisabled('ivy@example.com', true, NOW + 20, null, null)
      const afterDisable = await replica.certificates.listRevoked(nowSeconds)
      expect(afterDisable.serials).toEqual([...before.serials, live.revoked.serial, live.disabled.serial].sort())
      expect(afterDisable.version).toBe(Math.max(before.version, NOW + 20))
    })

    it('access requests: created and listed; reviews race on two instances with one decision; transitions are compare-and-set; the sweep runs each once; a revoked grant puts its certificates on the KRL', async () => {
      const requester = identityOf(`req${randomBytes(3).toString('hex')}`)
      const request = (overrides: Partial<AccessRequestRow> = {}): AccessRequestRow => ({
        id: id('req'), requester, rule: 'prod', host: 'db.example.com', login: 'postgres', durationMs: 3_600_000, reason: 'INC-1 "quoted" ünïcode', state: 'pending',
        approvalsRequired: 2, breakGlass: false, createdAt: NOW, pendingUntil: NOW + 60_000, approvedAt: null, claimBy: null, endsAt: null, firstUsedAt: null,
        closedAt: null, closedBy: null, closedReason: null, clientIp: '127.0.0.1', ...overrides,
      })
      const pending = request()
      await store.requests.create(pending)
      expect(await replica.requests.get(pending.id)).toEqual({ request: pending, reviews: [] })
      expect(await store.requests.get('req-none')).toBeUndefined()
      expect(await store.requests.countPending(requester.sub)).toBe(1)

      // Two approvals needed: reviewers race on both instances; each review counts once, the second approval decides.
      const approveWhenCounted = (row: AccessRequestRow, reviews: AccessReviewRow[]): AccessRequestChange | undefined =>
        reviews.filter((review) => review.decision === 'approve').length >= row.approvalsRequired ? { state: 'approved', approvedAt: NOW + 5, claimBy: NOW + 600_000, endsAt: NOW + 5 + row.durationMs } : undefined
      const review = (reviewer: string, at: number): AccessReviewRow => ({ requestId: pending.id, reviewer, reviewerEmail: `${reviewer}@example.com`, decision: 'approve', reason: null, at })
      const outcomes = await Promise.all([
        store.requests.review(pending.id, review('rev1', NOW + 1), approveWhenCounted),
        replica.requests.review(pending.id, review('rev2', NOW + 2), approveWhenCounted),
        replica.requests.review(pending.id, review('rev1', NOW + 3), approveWhenCounted),
      ])
      expect(outcomes.map((outcome) => outcome.outcome).sort()).toEqual(['duplicate', 'recorded', 'recorded'])
      const decided = await store.requests.get(pending.id)
      expect(decided?.request.state).toBe('approved')
      expect(decided?.reviews.map((r) => r.reviewer).sort()).toEqual(['rev1', 'rev2'])
      expect((await store.requests.review(pending.id, review('rev3', NOW + 4), approveWhenCounted)).outcome).toBe('closed')
      expect((await store.requests.review('req-none', review('rev3', NOW + 4), approveWhenCounted)).outcome).toBe('unknown')
      const late = request()
      await store.requests.create(late)
      expect((await store.requests.review(late.id, review('rev1', late.pendingUntil), approveWhenCounted)).outcome).toBe('closed')

      // Usable: approved before claim_by, or active, before ends_at.
      expect((await replica.requests.usable(requester.sub, NOW + 10)).map((row) => row.id)).toEqual([pending.id])
      const activations = await Promise.all([store.requests.transition(pending.id, ['approved'], { state: 'active', firstUsedAt: NOW + 10 }), replica.requests.transition(pending.id, ['approved'], { state: 'active', firstUsedAt: NOW + 11 })])
      expect(activations.filter(Boolean)).toHaveLength(1)
      expect((await store.requests.usable(requester.sub, NOW + 700_000)).map((row) => row.id)).toEqual([pending.id]) // active: claim_by no longer matters
      expect(await store.requests.usable(requester.sub, NOW + 5 + 3_600_000)).toEqual([])

      // The KRL: a certificate issued under the grant is listed once the grant is revoked (once, on either instance).
      const session = sessionRow(requester.username)
      await store.sessions.create(session)
      const nowSeconds = Math.floor(NOW / 1000)
      const cert = { ...certificate(session, nowSeconds + 600), grantId: pending.id }
      await store.certificates.record(cert, draft('cert.sign'), NOW, seal)
      expect((await store.certificates.list({ sessionId: session.id }))[0]?.grantId).toBe(pending.id)
      expect((await store.certificates.listRevoked(nowSeconds)).serials).not.toContain(cert.serial)
      const revokes = await Promise.all([store.requests.revoke(pending.id, NOW + 20, 'admin@example.com', 'done early'), replica.requests.revoke(pending.id, NOW + 21, 'x', 'y')])
      expect(revokes.filter(Boolean)).toHaveLength(1)
      const krl = await replica.certificates.listRevoked(nowSeconds)
      expect(krl.serials).toContain(cert.serial)
      expect(krl.version).toBeGreaterThanOrEqual(NOW + 20)
      expect(await store.requests.revoke(pending.id, NOW + 30, 'x', 'again')).toBeUndefined()

      // The sweep: each timed transition happens once, across instances.
      const stale = request({ pendingUntil: NOW + 100 })
      const unclaimed = request({ state: 'approved', approvedAt: NOW, claimBy: NOW + 100, endsAt: NOW + 10_000 })
      const over = request({ state: 'active', approvedAt: NOW, claimBy: NOW + 100, endsAt: NOW + 200, firstUsedAt: NOW + 1 })
      for (const row of [stale, unclaimed, over]) await store.requests.create(row)
      const swept = (await Promise.all([store.requests.sweep(NOW + 300), replica.requests.sweep(NOW + 300)])).flat().filter((change) => [stale.id, unclaimed.id, over.id].includes(change.request.id))
      expect(swept.map((change) => [change.request.id, change.from, change.request.state, change.request.closedBy]).sort()).toEqual(
        [[stale.id, 'pending', 'expired', 'system'], [unclaimed.id, 'approved', 'expired', 'system'], [over.id, 'active', 'ended', 'system']].sort(),
      )

      const mine = await replica.requests.list({ requester: requester.sub, limit: 10 })
      expect(mine.map((row) => row.id).sort()).toEqual([pending.id, late.id, stale.id, unclaimed.id, over.id].sort())
      expect((await store.requests.list({ requester: requester.sub, states: ['expired'], limit: 10 })).map((row) => row.id).sort()).toEqual([stale.id, unclaimed.id].sort())
      expect(await store.requests.list({ requester: requester.sub, limit: 2 })).toHaveLength(2)
    })

    it('hostile text: alike on both dialects — NUL refused (400) by lookups and writes, lone surrogates kept as U+FFFD, the rest exactly; the audit chain still verifies', async () => {
      for (const [index, text] of HOSTILE_TEXT.entries()) {
        const refusedOr = <T>(value: T): T | 'refused' => (text.includes('\u0000') ? 'refused' : value)
        const context = JSON.stringify(text.slice(0, 20))
        expect(await outcomeOf(() => store.sessions.get(text)), context).toEqual(refusedOr(undefined))
        expect(await outcomeOf(() => replica.oauth.getRefreshToken(text)), context).toEqual(refusedOr(undefined))
        expect(await outcomeOf(() => store.oauth.getDeviceCodeByUserCode(text)), context).toEqual(refusedOr(undefined))
        expect(await outcomeOf(() => store.users.isDisabled(text)), context).toEqual(refusedOr(false))
        expect(await outcomeOf(() => replica.admin.findEmailBySubject(text)), context).toEqual(refusedOr(undefined))
        expect(await outcomeOf(() => store.admin.listSessions({ now: NOW, includeEnded: true, userEmail: text, limit: 5 })), context).toEqual(refusedOr([]))
        expect(await outcomeOf(() => store.requests.get(text)), context).toEqual(refusedOr(undefined))

        const key = `user:${text}|${index}`
        expect(await outcomeOf(() => store.throttles.recordFailure(key, NOW)), context).toEqual(refusedOr(undefined))
        expect(await outcomeOf(() => replica.throttles.countFailures(key, 0)), context).toEqual(refusedOr(1))
        // Audit: the columns arrive as UTF-8 text, the detail as JSON (which escapes NUL and lone surrogates: kept exactly).
        const appended = await outcomeOf(() => store.audit.append(draft('test.hostile', { user: text, host: text, detail: { text, index } }), NOW + index, seal))
        expect(appended === 'refused', context).toBe(text.includes('\u0000'))
        if (appended !== 'refused') {
          const [read] = await replica.audit.read(appended.seq - 1, 1)
          expect(read, context).toEqual({ ...appended, user: asStored(text), host: asStored(text), detail: { text, index } })
          expect((await replica.admin.searchAudit({ user: asStored(text), types: ['test.hostile'], order: 'asc', limit: 100 })).map((record) => record.seq), context).toContain(appended.seq)
        }
        // In JSON columns NUL is an escape, never a byte: a session whose person's name holds it is kept exactly.
        const session = sessionRow('hostile', { identity: { ...identityOf('hostile'), name: text } })
        await store.sessions.create(session)
        expect((await replica.sessions.get(session.id))?.identity.name, context).toBe(text)
      }
      expect(await outcomeOf(() => store.throttles.recordFailure('user:x', 1.5)), 'a fraction').toBe('refused')
      expect(await outcomeOf(() => store.throttles.recordFailure('user:x', Number.POSITIVE_INFINITY)), 'infinity').toBe('refused')
      expect((await verifyAuditChain(replica, TEST_CHAIN_KEY)).problems).toEqual([])
    })

    it('replicas: heartbeats with bytes; a tunnel row with its open event and its close once; a silent replica reaped once (one close per tunnel it left), then fenced; live tunnels counted on live replicas only', async () => {
      const replicaRow = (overrides: Partial<ReplicaRow> = {}): ReplicaRow => ({
        id: id('r'), hostname: 'host-a', pid: 4242, startedAt: NOW, heartbeatMs: 1_000, heartbeatAt: NOW, stoppedAt: null, reapedAt: null, reapedBy: null, ...overrides,
      })
      const tunnelRow = (replicaId: string, sessionId: string, overrides: Partial<LiveTunnelRow> = {}): LiveTunnelRow => ({
        id: id('t'), replicaId, sessionId, userEmail: 'kim@example.com', host: 'vm.example.com', openedAt: NOW, bytesUp: 0, bytesDown: 0, bytesAt: NOW, ...overrides,
      })
      const closeDraft = (tunnel: LiveTunnelRow, replica: ReplicaRow): AuditDraft => draft('tunnel.close', { user: tunnel.userEmail, sessionId: tunnel.sessionId, host: tunnel.host, outcome: 'error', detail: { tunnel: tunnel.id, reason: 'server crashed', bytes_up: tunnel.bytesUp, bytes_down: tunnel.bytesDown, replica: replica.id } })
      // The replicas' clock: the database's on PostgreSQL (both instances read the same), the process's on SQLite.
      const clocks = await Promise.all([store.replicas.now(), replica.replicas.now()])
      for (const clock of clocks) expect(Math.abs(clock - Date.now())).toBeLessThan(5_000)
      const a = replicaRow()
      const b = replicaRow({ hostname: 'host-b' })
      await store.replicas.register(a)
      await replica.replicas.register(b)
      expect((await store.replicas.unreaped(a.id)).map((row) => row.id)).toContain(b.id)

      const session = sessionRow('kim')
      await store.sessions.create(session)
      const [kept, left, racing] = [tunnelRow(a.id, session.id), tunnelRow(a.id, session.id, { openedAt: NOW + 1 }), tunnelRow(a.id, session.id, { openedAt: NOW + 2 })]
      for (const tunnel of [kept, left, racing]) {
        expect(await store.replicas.openTunnel(tunnel, draft('tunnel.open', { detail: { tunnel: tunnel.id } }), NOW, seal)).toMatchObject({ type: 'tunnel.open', detail: { tunnel: tunnel.id } })
      }
      expect(Object.fromEntries(await replica.replicas.liveTunnelsBySession(NOW + 100, 3))).toEqual({ [session.id]: 3 })
      // The heartbeat renews and writes bytes (only the given tunnels); closing a tunnel writes its close once.
      expect(await store.replicas.heartbeat(a.id, NOW + 500, [{ id: left.id, bytesUp: 1234, bytesDown: 56789 }])).toBe(true)
      expect(await store.replicas.closeTunnel(kept.id, draft('tunnel.close', { detail: { tunnel: kept.id } }), NOW + 600, seal)).toMatchObject({ type: 'tunnel.close' })
      expect(await replica.replicas.closeTunnel(kept.id, draft('tunnel.close'), NOW + 601, seal)).toBeUndefined()

      // Alive (heard 500 ms ago, beats of 1 s): nobody may reap it.
      expect(await replica.replicas.reap(a.id, b.id, NOW + 1_000, 3, closeDraft, seal)).toBeUndefined()
      // Silent for 3 beats: of two reapers and a close racing them, the tunnels left get exactly one close each.
      const at = NOW + 500 + 3_001
      const [first, second, closed] = await Promise.all([
        replica.replicas.reap(a.id, b.id, at, 3, closeDraft, seal),
        store.replicas.reap(a.id, 'r-third', at, 3, closeDraft, seal),
        store.replicas.closeTunnel(racing.id, draft('tunnel.close', { detail: { tunnel: racing.id, reason: 'client closed' } }), at, seal),
      ])
      expect([first, second].filter((outcome) => outcome !== undefined)).toHaveLength(1)
      const reaped = (first ?? second)!
      expect(reaped.map((record) => record.detail.tunnel)).toEqual(closed ? [left.id] : [left.id, racing.id])
      expect(reaped[0]).toMatchObject({ type: 'tunnel.close', outcome: 'error', user: 'kim@example.com', sessionId: session.id, detail: { reason: 'server crashed', bytes_up: 1234, bytes_down: 56789, replica: a.id } })
      const closes = (await store.audit.read(0, 100_000)).filter((record) => record.type === 'tunnel.close' && [kept.id, left.id, racing.id].includes(String(record.detail.tunnel)))
      expect(closes.map((record) => String(record.detail.tunnel)).sort()).toEqual([kept.id, left.id, racing.id].sort())
      // The reaped replica is fenced: no heartbeat, no new tunnel; nothing of it is live.
      expect(await store.replicas.heartbeat(a.id, at + 1, [])).toBe(false)
      await expect(store.replicas.openTunnel(tunnelRow(a.id, session.id), draft('tunnel.open'), at + 2, seal)).rejects.toMatchObject({ code: 'ERR_SERVER' })
      expect(await store.replicas.closeTunnel(left.id, draft('tunnel.close'), at + 3, seal)).toBeUndefined()
      expect((await replica.replicas.unreaped(b.id)).map((row) => row.id)).not.toContain(a.id)

      // A stopped replica is reaped at once (its rows left behind, if any); with no heartbeat rule (SQLite's start), any unreaped one.
      const stopped = replicaRow()
      await store.replicas.register(stopped)
      await store.replicas.stop(stopped.id, NOW + 10)
      expect(await replica.replicas.reap(stopped.id, b.id, NOW + 11, 3, closeDraft, seal)).toEqual([])
      const fresh = replicaRow({ heartbeatAt: at })
      await store.replicas.register(fresh)
      const orphan = tunnelRow(fresh.id, session.id, { bytesUp: 7, bytesDown: 8, bytesAt: at })
      await store.replicas.openTunnel(orphan, draft('tunnel.open'), at, seal)
      expect(Object.fromEntries(await store.replicas.liveTunnelsBySession(at + 10, 3))).toEqual({ [session.id]: 1 })
      expect(Object.fromEntries(await store.replicas.liveTunnelsBySession(at + 3_001, 3))).toEqual({}) // silent: its tunnels are not live
      expect((await store.replicas.reap(fresh.id, b.id, at + 1, null, closeDraft, seal))?.map((record) => record.detail)).toEqual([expect.objectContaining({ tunnel: orphan.id, bytes_up: 7, bytes_down: 8 })])
      expect((await verifyAuditChain(replica, TEST_CHAIN_KEY)).problems).toEqual([])
    })

    it('attempt reservations: of many parallel ones (two instances) exactly the limit pass; a release takes one back', async () => {
      const keys = [`user-ip:${id('u')}|10.0.0.1`, `user:${id('u')}`]
      const decide = ([first]: Array<{ count: number }>) => first!.count < 5
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : replica).throttles.reserve(keys, NOW + i, NOW - 60_000, decide)))
      expect(results.filter(Boolean)).toHaveLength(5)
      expect(await store.throttles.countFailures(keys[0]!, NOW - 60_000)).toBe(5)
      const passed = results.map((ok, i) => (ok ? NOW + i : null)).filter((at): at is number => at !== null)
      await replica.throttles.release(keys, passed[0]!)
      expect(await store.throttles.countFailures(keys[0]!, NOW - 60_000)).toBe(4)
      expect(await store.throttles.countFailures(keys[1]!, NOW - 60_000)).toBe(4)
      let seenLast: number | null = null
      expect(await store.throttles.reserve(keys, NOW + 100, NOW - 60_000, ([, user]) => ((seenLast = user!.lastAt), false))).toBe(false)
      expect(seenLast).toBe(Math.max(...passed.slice(1)))
    })

    it('used token ids: of concurrent claims (two instances) exactly one wins; reclaimed only once expired; purged', async () => {
      const key = id('jti')
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : replica).replays.claim(key, NOW + 60_000, NOW)))
      expect(claims.filter(Boolean)).toHaveLength(1)
      expect(await store.replays.claim(key, NOW + 120_000, NOW + 59_999)).toBe(false)
      // Once the token it came from has expired, the id is free again (the token itself is refused as expired).
      expect(await replica.replays.claim(key, NOW + 200_000, NOW + 60_000)).toBe(true)
      expect(await store.replays.claim(key, NOW + 300_000, NOW + 100_000)).toBe(false)
      const old = id('jti')
      expect(await store.replays.claim(old, NOW - 1, NOW - 10)).toBe(true)
      expect(await usedTokenIds(store)).toBe(2)
      await store.purgeExpired(NOW, NOW - 60_000)
      expect(await usedTokenIds(replica)).toBe(1)
    })

    it('login failures, pending upstream logins (single use) and the purge', async () => {
      await store.throttles.recordFailure('user:jo', NOW - 120_000)
      await store.throttles.recordFailure('user:jo', NOW)
      await replica.throttles.recordFailure('user:jo', NOW + 1)
      expect(await store.throttles.countFailures('user:jo', NOW - 60_000)).toBe(2)
      const login = { idHash: id('o'), state: 'st', nonce: 'no', codeVerifier: 'cv', returnTo: '/device', expiresAt: NOW + 60_000 }
      await store.oauth.insertOidcLogin(login)
      const takes = await Promise.all([store.oauth.takeOidcLogin(login.idHash, NOW), replica.oauth.takeOidcLogin(login.idHash, NOW)])
      expect(takes.filter(Boolean)).toEqual([login])
      const stale = { ...login, idHash: id('o'), expiresAt: NOW - 1 }
      await store.oauth.insertOidcLogin(stale)
      expect(await store.oauth.takeOidcLogin(stale.idHash, NOW)).toBeUndefined()

      const web = { idHash: id('w'), identity: identityOf('jo'), auth: { time: NOW, method: 'password' as const }, createdAt: NOW - 10, expiresAt: NOW - 1, flow: null }
      await store.sessions.createWeb(web)
      await store.purgeExpired(NOW, NOW - 60_000)
      expect(await store.sessions.getWeb(web.idHash)).toBeUndefined()
      expect(await store.throttles.countFailures('user:jo', 0)).toBe(2)
      await replica.throttles.clearFailures('user:jo')
      expect(await store.throttles.countFailures('user:jo', 0)).toBe(0)
      await store.ping()
    })
  })
}
