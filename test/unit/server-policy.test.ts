// The policy engine on plain data, with the clock injected: deny rules win, conditions (source networks,
// days and hours in an IANA zone across DST changes, authentication age, amr, acr), requested lifetimes,
// asked-for logins, and what every rule answered (what `policy test` prints).
import { describe, expect, it } from 'vitest'
import { parseConfigText } from '../../src/server/config/load-config.js'
import type { PolicyRule } from '../../src/server/config/types.js'
import type { AuthContext, Identity } from '../../src/server/identity/identity.js'
import { checkConditions } from '../../src/server/policy/conditions.js'
import { decideAccess, type AccessQuery } from '../../src/server/policy/policy.js'
import { windowClosesAt } from '../../src/server/policy/time-window.js'

const HASH = 'scrypt$1024$8$1$AQEBAQEBAQEBAQEBAQEBAQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

/** The rules of a YAML `policy:` list, parsed (and validated) as the server does. */
function rules(yaml: string): PolicyRule[] {
  const text = `identity:\n  local:\n    users:\n      - {username: alice, email: alice@example.com, groups: [dev], password_hash: "${HASH}"}\npolicy:\n${yaml}`
  return parseConfigText(text, 'config.yaml').policy
}

const alice: Identity = { sub: 'alice', username: 'alice', email: 'alice@example.com', name: undefined, groups: ['dev'] }
const at = (iso: string): number => Date.parse(iso)
const auth = (time: number, extra: Partial<AuthContext> = {}): AuthContext => ({ time, method: 'password', ...extra })
const DEFAULTS = { sourceAddress: ['127.0.0.1/32'], forbiddenPrincipals: ['root'] }

function ask(policy: PolicyRule[], query: Partial<AccessQuery> & { at: number }) {
  return decideAccess(policy, { identity: alice, host: 'vm.example.com', sourceIp: '10.1.2.3', auth: auth(query.at - 60_000), ...query }, DEFAULTS)
}

describe('decideAccess', () => {
  const base = `  - {name: dev, groups: [dev], hosts: ["*.example.com"], principals: ["{username}", deploy], max_ttl: 8h}\n`

  it('grants by the first matching allow rule, caps an asked-for lifetime, narrows to an asked-for login', () => {
    const decision = ask(rules(base), { at: at('2026-11-30T10:00:00Z'), requestedTtlMs: 24 * 3_600_000 })
    expect(decision).toMatchObject({ allowed: true, rule: 'dev', principals: ['alice', 'deploy'], ttlMs: 8 * 3_600_000, until: undefined })
    expect(ask(rules(base), { at: at('2026-11-30T10:00:00Z'), requestedTtlMs: 3_600_000 })).toMatchObject({ ttlMs: 3_600_000 })
    expect(ask(rules(base), { at: at('2026-11-30T10:00:00Z'), login: 'deploy' })).toMatchObject({ allowed: true, principals: ['deploy'] })
    expect(ask(rules(base), { at: at('2026-11-30T10:00:00Z'), login: 'root' })).toMatchObject({
      allowed: false, code: 'policy.login', reason: 'no policy rule lets alice@example.com log in to vm.example.com as root (rule "dev" grants alice, deploy)',
    })
  })

  it('lets a deny rule win over any allow rule, wherever it stands; its conditions decide when it applies', () => {
    const policy = rules(`${base}  - {name: no-weekend-prod, effect: deny, users: [alice@example.com], hosts: ["vm.example.com"], when: {days: [sat, sun], time_zone: Europe/Berlin}}\n`)
    const saturday = ask(policy, { at: at('2026-11-28T10:00:00Z') })
    expect(saturday).toMatchObject({ allowed: false, code: 'policy.denied', reason: 'policy rule "no-weekend-prod" denies alice@example.com access to vm.example.com' })
    expect(saturday.checks).toEqual([
      { rule: 'dev', effect: 'allow', outcome: 'granted' },
      { rule: 'no-weekend-prod', effect: 'deny', outcome: 'denied' },
    ])
    const monday = ask(policy, { at: at('2026-11-30T10:00:00Z') })
    expect(monday).toMatchObject({ allowed: true, rule: 'dev' })
    expect(monday.checks[1]).toMatchObject({ rule: 'no-weekend-prod', outcome: 'condition failed' })
  })

  it('refuses by source network, naming the address and the networks; IPv4-mapped addresses count as IPv4', () => {
    const policy = rules(`  - {name: office, groups: [dev], hosts: ["*"], principals: [alice], when: {source_networks: [10.0.0.0/8, "2001:db8::/32"]}}\n`)
    expect(ask(policy, { at: 0, sourceIp: '10.9.9.9' }).allowed).toBe(true)
    expect(ask(policy, { at: 0, sourceIp: '::ffff:10.9.9.9' }).allowed).toBe(true)
    expect(ask(policy, { at: 0, sourceIp: '2001:db8::1' }).allowed).toBe(true)
    expect(ask(policy, { at: 0, sourceIp: '192.0.2.7' })).toMatchObject({
      allowed: false, code: 'policy.source_network', stepUp: false,
      reason: 'rule "office" does not let alice@example.com reach vm.example.com now: your address 192.0.2.7 is not in the networks it allows (10.0.0.0/8, 2001:db8::/32)',
    })
  })

  it('asks for a fresh sign-in past max_auth_age, and for the amr and acr a rule requires', () => {
    const policy = rules(`  - {name: prod, groups: [dev], hosts: ["*"], principals: [alice], when: {max_auth_age: 1h, amr: [otp], acr: ["urn:mfa"]}}\n`)
    const now = at('2026-11-30T10:00:00Z')
    const fresh = auth(now - 30 * 60_000, { method: 'oidc', amr: ['pwd', 'otp'], acr: 'urn:mfa' })
    expect(ask(policy, { at: now, auth: fresh }).allowed).toBe(true)
    expect(ask(policy, { at: now, auth: { ...fresh, time: now - 2 * 3_600_000 } })).toMatchObject({ allowed: false, code: 'policy.auth_age', stepUp: true })
    expect(ask(policy, { at: now, auth: { ...fresh, amr: ['pwd'] } })).toMatchObject({ code: 'policy.amr', stepUp: true, reason: expect.stringContaining('a sign-in with otp') })
    expect(ask(policy, { at: now, auth: { ...fresh, acr: 'urn:pwd' } })).toMatchObject({ code: 'policy.acr', stepUp: true })
    expect(ask(policy, { at: now, auth: null })).toMatchObject({ code: 'policy.auth_age' })
  })

  it('reports the first own rule\'s failed condition, never rules that are not the person\'s', () => {
    const policy = rules(`  - {name: ops-only, groups: [ops], hosts: ["*"], principals: [x]}\n  - {name: dev-hours, groups: [dev], hosts: ["*"], principals: [alice], when: {hours: "09:00-17:00"}}\n`)
    const night = ask(policy, { at: at('2026-11-30T22:00:00Z') })
    expect(night).toMatchObject({ allowed: false, code: 'policy.window_closed' })
    if (!night.allowed) expect(night.reason).not.toContain('ops-only')
    expect(night.checks.map((check) => check.outcome)).toEqual(['not this person', 'condition failed'])
  })
})

describe('time windows (IANA zones, DST)', () => {
  const windowOf = (when: string) => rules(`  - {name: w, groups: [dev], hosts: ["*"], principals: [alice], when: ${when}}\n`)[0]!.when!.window!

  it('is open Mon-Fri 08:00-18:00 on Berlin wall-clock time and closes at 18:00 Berlin, in winter and in summer', () => {
    const office = windowOf('{days: [mon-fri], hours: "08:00-18:00", time_zone: Europe/Berlin}')
    expect(windowClosesAt(office, at('2026-11-30T06:59:00Z'))).toBeUndefined() // 07:59 CET
    expect(windowClosesAt(office, at('2026-11-30T07:00:00Z'))).toBe(at('2026-11-30T17:00:00Z')) // 08:00 CET → 18:00 CET
    expect(windowClosesAt(office, at('2026-07-01T06:00:00Z'))).toBe(at('2026-07-01T16:00:00Z')) // CEST
    expect(windowClosesAt(office, at('2026-11-28T10:00:00Z'))).toBeUndefined() // Saturday
  })

  it('follows the DST changes: the morning after the clocks move, 08:00 local is another UTC hour', () => {
    const office = windowOf('{hours: "08:00-18:00", time_zone: Europe/Berlin}')
    // 2026-03-29: CET → CEST at 02:00 local. 07:30 UTC is 09:30 CEST (open); 05:30 UTC is 07:30 CEST (closed).
    expect(windowClosesAt(office, at('2026-03-29T07:30:00Z'))).toBe(at('2026-03-29T16:00:00Z'))
    expect(windowClosesAt(office, at('2026-03-29T05:30:00Z'))).toBeUndefined()
    // 2026-10-25: CEST → CET. 06:30 UTC is 07:30 CET (closed); 07:30 UTC is 08:30 CET (open until 17:00 UTC).
    expect(windowClosesAt(office, at('2026-10-25T06:30:00Z'))).toBeUndefined()
    expect(windowClosesAt(office, at('2026-10-25T07:30:00Z'))).toBe(at('2026-10-25T17:00:00Z'))
  })

  it('a range across midnight belongs to the day it starts, also on the night the clocks change (New York)', () => {
    const night = windowOf('{days: [sat], hours: "22:00-06:00", time_zone: America/New_York}')
    // Saturday 2026-03-07 23:00 EST → closes Sunday 06:00 EDT (the night has 23 hours).
    expect(windowClosesAt(night, at('2026-03-08T04:00:00Z'))).toBe(at('2026-03-08T10:00:00Z'))
    // Sunday 05:00 EDT still belongs to Saturday's range; Sunday 22:00 does not (not a Saturday).
    expect(windowClosesAt(night, at('2026-03-08T09:00:00Z'))).toBe(at('2026-03-08T10:00:00Z'))
    expect(windowClosesAt(night, at('2026-03-09T02:00:00Z'))).toBeUndefined()
  })

  it('caps a grant at the window\'s end', () => {
    const policy = rules(`  - {name: day, groups: [dev], hosts: ["*"], principals: [alice], when: {hours: "08:00-18:00", time_zone: UTC}}\n`)
    expect(ask(policy, { at: at('2026-11-30T17:30:00Z') })).toMatchObject({ allowed: true, until: at('2026-11-30T18:00:00Z') })
    expect(checkConditions(policy[0]!.when, { at: at('2026-11-30T18:00:00Z'), sourceIp: undefined, auth: null }).failed?.code).toBe('policy.window_closed')
  })

  it('refuses bad windows in the config with the key path', () => {
    expect(() => windowOf('{hours: "8-18"}')).toThrow(/policy\[0\]\.when\.hours: "8-18" is not a range of hours like "08:00-18:00"/)
    expect(() => windowOf('{days: [funday]}')).toThrow(/policy\[0\]\.when\.days\[0\]: "funday" is not a day/)
    expect(() => windowOf('{hours: "08:00-18:00", time_zone: Mars/Olympus}')).toThrow(/policy\[0\]\.when\.time_zone: "Mars\/Olympus" is not an IANA time zone/)
    expect(() => rules(`  - {name: d, effect: deny, groups: [dev], hosts: ["*"], principals: [x]}\n`)).toThrow(/policy\[0\]\.principals: has no meaning in a deny rule/)
  })
})
