// "Why can't I?" (issue 13): `jitssh-server policy test` answers for anyone from the config (exit 0 allowed, 1
// denied, every rule's answer), while `GET /v1/policy/explain` / `jitssh explain` and `GET /v1/hosts` /
// `jitssh hosts` answer for the caller only: their own rules, never another person's.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempHome, runCli, seedSession } from '../helpers/cli.js'
import { loginWithPassword, runServerCli, startTestServer, testClock, type TestServer } from '../helpers/server.js'

// A Tuesday, 10:00 in Berlin (09:00 UTC in winter): inside office hours.
const clock = testClock(Date.parse('2026-12-01T09:00:00Z'))
const TARGETS = ['vm.example.com', 'office.example.com', 'db.prod.example.com', 'stage.example.com']
const POLICY = [
  { name: 'no-prod-for-contractors', effect: 'deny', groups: ['contractors'], hosts: ['*.prod.example.com'] },
  { name: 'dev', groups: ['dev'], hosts: ['vm.example.com'], principals: ['{email_local}'], max_ttl: '2h' },
  { name: 'office', groups: ['dev'], hosts: ['office.example.com'], principals: ['deploy'], when: { days: ['mon-fri'], hours: ['08:00-18:00'], time_zone: 'Europe/Berlin' } },
  { name: 'ops-secret-db', groups: ['ops'], hosts: ['db.prod.example.com'], principals: ['postgres'] },
  { name: 'stage-on-request', groups: ['dev'], hosts: ['stage.example.com'], principals: ['deploy'], request: { approvers: { groups: ['ops'] } } },
]
let srv: TestServer
let configPath: string
let home: string

beforeAll(async () => {
  srv = await startTestServer({
    now: clock.now,
    users: [
      { username: 'alice', email: 'alice@example.com', groups: ['dev'] },
      { username: 'bob', email: 'bob@example.com', groups: ['ops'] },
      { username: 'carl', email: 'carl@example.com', groups: ['dev', 'contractors'] },
    ],
    targets: Object.fromEntries(TARGETS.map((host) => [host, '127.0.0.1:9'])),
    policy: POLICY,
    config: { sessions: { lifetime: '7d' } },
  })
  configPath = srv.configPath
  home = await makeTempHome()
  const tokens = await loginWithPassword(srv.url, 'alice')
  await seedSession(home, srv.url, { accessToken: tokens.access_token, refreshToken: tokens.refresh_token })
}, 60_000)
afterAll(async () => {
  await srv?.stop()
})

const cli = (args: string[]) => runCli(args, { home, now: clock.now, env: { TZ: 'UTC' } })

describe('jitssh-server policy test', () => {
  it('allowed: exit 0, the rule, the logins and the certificate lifetime, then every rule in order', async () => {
    const result = await runServerCli(['policy', 'test', '--config', configPath, '--user', 'alice', '--host', 'vm.example.com', '--at', '2026-12-01T09:00:00Z'])
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines[0]).toBe('alice@example.com (groups: dev) → vm.example.com, at 2026-12-01T09:00:00.000Z, from an unknown address, signed in 0m ago')
    expect(lines[1]).toBe('ALLOWED by rule "dev": logins alice; certificates for up to 120 min')
    expect(result.stdout).toMatch(/rules, in order:\n {2}no-prod-for-contractors +deny +not this person\n {2}dev +allow +granted\n {2}office +allow +not this host\n/)
  })

  it('denied: exit 1 and the condition that failed (a Saturday), while the other rules say why they do not apply', async () => {
    const result = await runServerCli(['policy', 'test', '--config', configPath, '--user', 'alice', '--host', 'office.example.com', '--at', '2026-12-05T10:00:00+01:00'])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^DENIED \(policy\.window_closed\): /m)
    expect(result.stdout).toMatch(/ {2}office +allow +condition failed: it allows access only mon-fri 08:00-18:00 Europe\/Berlin\n/)
    expect(result.stdout).toMatch(/ {2}ops-secret-db +allow +not this person/)
  })

  it('a deny rule wins for someone an allow rule would let in; --json says the same for scripts', async () => {
    const result = await runServerCli(['policy', 'test', '--config', configPath, '--user', 'bob@example.com', '--groups', 'ops,contractors', '--host', 'db.prod.example.com', '--json'])
    expect(result.code).toBe(1)
    const answer = JSON.parse(result.stdout) as { allowed: boolean; code: string; checks: Array<{ rule: string; effect: string; outcome: string }> }
    expect(answer).toMatchObject({ allowed: false, code: 'policy.denied' })
    expect(answer.checks.find((check) => check.rule === 'no-prod-for-contractors')).toMatchObject({ effect: 'deny', outcome: 'denied' })
  })

  it('bad input is one line with the fix, exit 2', async () => {
    const result = await runServerCli(['policy', 'test', '--config', configPath, '--user', 'nobody', '--host', 'vm.example.com'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('--user: no local user named nobody: give an email address (and --groups)')
  })
})

describe('jitssh explain and GET /v1/policy/explain (the caller only)', () => {
  it('allowed: the rule, the logins and until when, exit 0', async () => {
    const result = await cli(['explain', 'vm.example.com'])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^vm\.example\.com: allowed by rule "dev" as alice, until /)
  })

  it('denied: the reason, and only her own rules: another group\'s rule for the host is never named', async () => {
    const result = await cli(['explain', 'db.prod.example.com'])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^db\.prod\.example\.com: not allowed: /)
    expect(result.stdout).not.toContain('ops-secret-db')
    expect(result.stdout).not.toContain('postgres')
    const json = JSON.parse((await cli(['explain', 'db.prod.example.com', '--json'])).stdout) as { rules: Array<{ rule: string }> }
    expect(json.rules.map((rule) => rule.rule)).not.toContain('ops-secret-db')
  })

  it('a host on request names the command that asks for it', async () => {
    const result = await cli(['explain', 'stage.example.com'])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('You may ask for it: jitssh request create --host stage.example.com --login deploy --duration 1h --reason "why"')
    expect(result.stdout).toMatch(/stage-on-request +allow +needs a request: it grants deploy on request/)
  })

  it('the API takes no other person: a user parameter changes nothing, a bad login is refused', async () => {
    const { access_token: token } = await loginWithPassword(srv.url, 'bob')
    const ask = (query: string) => fetch(`${srv.url}/v1/policy/explain?${query}`, { headers: { authorization: `Bearer ${token}` } })
    const asBob = (await (await ask('host=vm.example.com&user=alice@example.com')).json()) as { allowed: boolean; rules: Array<{ rule: string }> }
    expect(asBob.allowed).toBe(false)
    expect(asBob.rules.map((rule) => rule.rule)).toEqual(['ops-secret-db'])
    expect((await ask('host=vm.example.com&login=root%3Bid')).status).toBe(400)
    expect((await fetch(`${srv.url}/v1/policy/explain?host=vm.example.com`)).status).toBe(401)
  })
})

describe('jitssh hosts', () => {
  it('lists what she may reach now, what she may ask for, and what opens later; never a host of other people\'s rules', async () => {
    const weekday = await cli(['hosts', '--json'])
    expect(weekday.code, weekday.stderr).toBe(0)
    const hosts = (JSON.parse(weekday.stdout) as { hosts: Array<{ host: string; status: string; logins: string[] }> }).hosts
    expect(hosts.map((host) => [host.host, host.status])).toEqual([
      ['office.example.com', 'allowed'],
      ['stage.example.com', 'on request'],
      ['vm.example.com', 'allowed'],
    ])
    clock.advance(4 * 86_400_000) // Saturday
    try {
      const saturday = JSON.parse((await cli(['hosts', '--json'])).stdout) as { hosts: Array<{ host: string; status: string }> }
      expect(saturday.hosts.find((host) => host.host === 'office.example.com')?.status).toBe('not now')
      const table = await cli(['hosts'])
      expect(table.stdout).toMatch(/office\.example\.com +- +not now: it allows access only mon-fri 08:00-18:00 Europe\/Berlin\n/)
      expect(table.stdout).not.toContain('db.prod.example.com')
    } finally {
      clock.advance(-4 * 86_400_000)
    }
  })
})

// A config file with a typo: policy test reads it as check does.
it('policy test refuses a config that check refuses, with its error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jitssh-policy-'))
  const bad = join(dir, 'config.yaml')
  writeFileSync(bad, 'policy:\n  - {name: x, groups: [dev], hosts: ["*"], principals: [a], max_tll: 1h}\n')
  const result = await runServerCli(['policy', 'test', '--config', bad, '--user', 'a@example.com', '--host', 'vm.example.com'])
  expect(result.code).not.toBe(0)
  expect(result.stderr).toContain('policy[0].max_tll: unknown key')
})
