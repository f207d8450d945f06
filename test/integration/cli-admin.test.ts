// jitssh audit / sessions / revoke / user, in-process against the real server: the local-time table (with
// the zone) answering "who accessed prod-db-01 last Thursday between 14:00 and 16:00", --json, following
// cursors up to --limit, sessions, revoke by user and by session, the 403 for a non-admin (exit 1 with the
// server's message), and bad flags (exit 2, nothing sent).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AuditEvent } from '../../src/shared/protocol.js'
import { signFor } from '../helpers/admin.js'
import { auditKeysOf, sealWith } from '../helpers/audit.js'
import { makeTempHome, removeTempHome, runCli, type CliResult } from '../helpers/cli.js'
import { DEFAULT_USERS, loginWithPassword, startTestServer, testClock, type TestServer } from '../helpers/server.js'
import { createStubBrowser } from '../helpers/stub-browser.js'

const MINUTE = 60_000
// Thursday 2026-11-19, 14:00 in Berlin (CET, UTC+1).
const THURSDAY_1400 = Date.parse('2026-11-19T13:00:00Z')
const clock = testClock(THURSDAY_1400)
const DB = 'prod-db-01.example.com'
let srv: TestServer
let bobHome: string
let aliceHome: string

async function cli(home: string, args: string[]): Promise<CliResult> {
  return runCli(args, { home, now: clock.now, env: { TZ: 'Europe/Berlin' } })
}
const asBob = (args: string[]): Promise<CliResult> => cli(bobHome, args)
const asAlice = (args: string[]): Promise<CliResult> => cli(aliceHome, args)
const rows = (stdout: string): string[] => stdout.trimEnd().split('\n').slice(1)

async function cliLogin(home: string, username: string): Promise<void> {
  const browser = createStubBrowser({ username })
  const result = await runCli(['login', '--server', srv.url], { home, now: clock.now, env: { DISPLAY: ':0' }, openBrowser: browser.open })
  expect(result.code, result.stderr).toBe(0)
}

beforeAll(async () => {
  srv = await startTestServer({
    now: clock.now,
    users: [...DEFAULT_USERS, { username: 'carol', email: 'carol@example.com', groups: ['dev'] }],
    config: { admins: { groups: ['ops'] } },
  })
  // Thursday: alice on prod-db-01 at 14:05, alice on web-01 at 15:00, carol on prod-db-01 at 15:30, alice again at 16:10.
  const step = async (minutes: number, user: string, host: string): Promise<void> => {
    clock.advance(minutes * MINUTE)
    const login = await loginWithPassword(srv.url, user)
    expect((await signFor(srv.url, login.access_token, host)).status).toBe(200)
  }
  await step(5, 'alice', DB)
  await step(55, 'alice', 'web-01.example.com')
  await step(30, 'carol', DB)
  await step(40, 'alice', DB)
  // Friday morning: the admin asks.
  clock.advance(18 * 60 * MINUTE)
  bobHome = await makeTempHome()
  aliceHome = await makeTempHome()
  await cliLogin(bobHome, 'bob')
  await cliLogin(aliceHome, 'alice')
})
afterAll(async () => {
  await srv?.stop()
  if (bobHome) await removeTempHome(bobHome)
  if (aliceHome) await removeTempHome(aliceHome)
})

describe('jitssh audit', () => {
  it('answers "who accessed prod-db-01 last Thursday between 14:00 and 16:00" as a local-time table', async () => {
    const result = await asBob(['audit', '--host', DB, '--type', 'cert.sign', '--since', 'thursday 14:00', '--until', 'thursday 16:00'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe('')
    const [header, ...lines] = result.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^TIME +TYPE +OUTCOME +USER +HOST +DETAIL$/)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^2026-11-19 15:30:00 CET {2}cert\.sign {2}ok +carol@example\.com {2}prod-db-01\.example\.com {2}principals=carol serial=\d+ rule=dev$/)
    expect(lines[1]).toMatch(/^2026-11-19 14:05:00 CET {2}cert\.sign {2}ok +alice@example\.com {2}prod-db-01\.example\.com {2}principals=alice serial=\d+ rule=dev$/)
  })

  it('--json prints the events as the server sent them; --oldest-first reverses; ISO input with a zone works too', async () => {
    const result = await asBob(['audit', '--host', DB, '--since', '2026-11-19T14:00:00+01:00', '--until', '2026-11-19 16:00', '--json', '--oldest-first'])
    expect(result.code, result.stderr).toBe(0)
    const parsed = JSON.parse(result.stdout) as { events: AuditEvent[]; more: boolean }
    expect(parsed.more).toBe(false)
    expect(parsed.events.map((e) => [e.time, e.user, e.type, e.host])).toEqual([
      ['2026-11-19T13:05:00.000Z', 'alice@example.com', 'cert.sign', DB],
      ['2026-11-19T14:30:00.000Z', 'carol@example.com', 'cert.sign', DB],
    ])
  })

  it('reads relative --since (2h) against the clock, and filters by user name', async () => {
    const recent = await asBob(['audit', '--since', '2h', '--type', 'token.issue', '--json'])
    const users = (JSON.parse(recent.stdout) as { events: AuditEvent[] }).events.map((e) => e.user)
    expect(users.sort()).toEqual(['alice@example.com', 'bob@example.com']) // the CLI logins this morning, not Thursday's
    const alice = await asBob(['audit', '--user', 'alice', '--type', 'cert.sign', '--json'])
    expect((JSON.parse(alice.stdout) as { events: AuditEvent[] }).events.map((e) => e.host)).toEqual([DB, 'web-01.example.com', DB])
  })

  it('follows the cursor across pages up to --limit, and says when more match', async () => {
    const seal = sealWith(auditKeysOf(srv.configPath).chain)
    await Promise.all(Array.from({ length: 1050 }, (_, i) => srv.server.store.audit.append({ type: 'bulk.test', user: null, sessionId: null, host: null, outcome: 'ok', detail: { i } }, clock.now(), seal)))
    const all = await asBob(['audit', '--type', 'bulk', '--limit', '5000', '--json'])
    const events = (JSON.parse(all.stdout) as { events: AuditEvent[]; more: boolean }).events
    expect(events).toHaveLength(1050)
    expect(new Set(events.map((e) => e.seq)).size).toBe(1050)
    expect(events.map((e) => e.detail.i)).toEqual(Array.from({ length: 1050 }, (_, i) => 1049 - i))
    const some = await asBob(['audit', '--type', 'bulk', '--limit', '3'])
    expect(rows(some.stdout)).toHaveLength(3)
    expect(some.stderr).toBe('(showing the newest 3 matching events; raise --limit for more)\n')
  })

  it('a non-admin gets exit 1 and the server’s one-line reason', async () => {
    const result = await asAlice(['audit'])
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe('jitssh: denied: admin rights needed: alice@example.com is not an admin of this server\n')
    for (const args of [['sessions'], ['revoke', '--user', 'bob'], ['user', 'disable', 'bob']]) {
      const other = await asAlice(args)
      expect([other.code, other.stderr]).toEqual([1, 'jitssh: denied: admin rights needed: alice@example.com is not an admin of this server\n'])
    }
  })

  it.each([
    [['audit', '--since', 'yesterdayish'], /^jitssh: --since: cannot read "yesterdayish" as a time \(use e\.g\. 2h, 3d/],
    [['audit', '--until', '2026-02-30'], /^jitssh: --until: cannot read "2026-02-30" as a time/],
    [['audit', '--since', 'thursday', '--until', 'friday'], /^jitssh: --since \(2026-11-19 00:00:00 CET\) must be before --until \(2026-11-13 00:00:00 CET\)/],
    [['audit', '--limit', '0'], /^jitssh: invalid --limit: "0" \(a number from 1 to 100000\)/],
    [['audit', '--host', 'bad host'], /^jitssh: --host: /],
    [['audit', '--type', 'drop table'], /^jitssh: invalid --type: "drop table"/],
    [['audit', '--bogus'], /unknown option '--bogus'/],
    [['revoke'], /^jitssh: give exactly one of --user and --session \(e\.g\. jitssh revoke --user alice@example\.com\)/],
    [['revoke', '--user', 'alice', '--session', 'x'], /^jitssh: give exactly one of --user and --session/],
  ])('bad flags %j: exit 2 with one line saying what to do, nothing sent', async (args, message) => {
    const before = (await srv.server.store.audit.read(0, 1_000_000)).length
    const result = await asBob(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect((await srv.server.store.audit.read(0, 1_000_000)).length).toBe(before)
  })

  it('not logged in: exit 4 with the fix', async () => {
    const home = await makeTempHome()
    try {
      const result = await cli(home, ['audit'])
      expect(result.code).toBe(4)
      expect(result.stderr).toBe('jitssh: not logged in to a jitssh server (run: jitssh login --server URL)\n')
    } finally {
      await removeTempHome(home)
    }
  })
})

describe('jitssh sessions, revoke and user', () => {
  it('lists sessions, revokes a user and a session with what was revoked, and --all shows them revoked', async () => {
    const listed = await asBob(['sessions'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(/^SESSION +USER +CREATED +EXPIRES +TUNNELS\n/)
    // Thursday's sessions have ended (12 h); this morning's CLI logins are active.
    expect(rows(listed.stdout).map((line) => line.split(/ {2,}/).slice(1)).sort()).toEqual([
      ['alice@example.com', '2026-11-20 10:10:00 CET', '2026-11-20 22:10:00 CET', '-'],
      ['bob@example.com', '2026-11-20 10:10:00 CET', '2026-11-20 22:10:00 CET', '-'],
    ])

    const revoked = await asBob(['revoke', '--user', 'alice@example.com', '--reason', 'offboarding'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stdout).toBe('Revoked 1 session of alice@example.com; closed 0 live tunnels.\n')
    const again = await asBob(['revoke', '--user', 'alice'])
    expect(again.stdout).toBe('Nothing to revoke: alice@example.com has no active sessions.\n')

    // alice's CLI finds out on its next call: its session is gone (exit 4, log in again).
    const aliceAfter = await asAlice(['sessions'])
    expect(aliceAfter.code).toBe(4)
    expect(aliceAfter.stderr).toMatch(/session .* has ended.*jitssh login/)

    await loginWithPassword(srv.url, 'carol')
    const carolSession = (JSON.parse((await asBob(['sessions', '--user', 'carol', '--json'])).stdout) as { sessions: Array<{ session_id: string }> }).sessions[0]!.session_id
    const one = await asBob(['revoke', '--session', carolSession, '--json'])
    expect(JSON.parse(one.stdout)).toEqual({ user: 'carol@example.com', revoked_sessions: [carolSession], tunnels_closed: 0 })

    const all = await asBob(['sessions', '--all'])
    expect(all.stdout).toMatch(/^SESSION +USER +CREATED +EXPIRES +STATE +REVOKED +TUNNELS\n/)
    expect(rows(all.stdout).filter((line) => / revoked +2026-11-20 10:10:00 CET \(by an admin\) +-$/.test(line))).toHaveLength(2)
    expect(rows(all.stdout).filter((line) => / expired +- +-$/.test(line))).toHaveLength(4)
  })

  it('disables and enables a user', async () => {
    await loginWithPassword(srv.url, 'carol')
    const disabled = await asBob(['user', 'disable', 'carol', '--reason', 'left'])
    expect([disabled.code, disabled.stdout]).toEqual([0, 'Disabled carol@example.com: revoked 1 session; closed 0 live tunnels.\n'])
    const list = await asBob(['user', 'list-disabled'])
    expect(rows(list.stdout)).toEqual([expect.stringMatching(/^carol@example\.com {2}2026-11-20 10:10:00 CET {2}bob@example\.com {2}left$/)])
    await expect(loginWithPassword(srv.url, 'carol')).rejects.toThrow(/error=access_denied&error_description=account\+disabled/)
    const enabled = await asBob(['user', 'enable', 'carol@example.com'])
    expect(enabled.stdout).toBe('Enabled carol@example.com: they can log in again.\n')
    await loginWithPassword(srv.url, 'carol')
  })
})
