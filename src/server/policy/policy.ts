import { hostMatchesPattern } from '../../ssh/config.js'
import type { PolicyRule } from '../config/types.js'
import { isMember, isServiceSubject, policyNames, type AuthContext, type Identity, type ServiceScope } from '../identity/identity.js'
import { checkConditions, type FailedCondition } from './conditions.js'
import { renderPrincipal } from './principals.js'

/** What is asked: who, which host, in which circumstances. */
export interface AccessQuery {
  identity: Identity
  host: string
  /** The server's clock, Unix ms. */
  at: number
  /** The client's address as the server sees it. */
  sourceIp: string | undefined
  /** How and when the person authenticated (null for sessions from before that was kept). */
  auth: AuthContext | null
  /** The login asked for (explain, policy test); undefined when any the rule grants will do. */
  login?: string
  /** A certificate lifetime asked for; the rule's max_ttl caps it. */
  requestedTtlMs?: number
  /** The person's approved access requests, usable now: what rules with `request:` grant. */
  grants?: readonly UsableGrant[]
}

/** An approved access request as policy sees it (requests/access-requests.ts loads them). */
export interface UsableGrant {
  id: string
  /** The rule it was requested under. */
  rule: string
  /** A host name, or a pattern within the rule's hosts. */
  host: string
  login: string
  /** The end of its use window (Unix ms). */
  endsAt: number
  /** Taken without approval: the person must still be in the rule's break_glass list. */
  breakGlass: boolean
}

/** A rule the person could ask access through, for a denial's hint (`jitssh request create ...`). */
export interface RequestableRule {
  rule: string
  logins: string[]
  maxDurationMs: number
  reasonRequired: boolean
  reasonPrompt: string | undefined
  /** The person may take it without approval (break-glass), rather than ask. */
  breakGlassOnly: boolean
}

export interface PolicyDefaults {
  sourceAddress: string[] | undefined
  forbiddenPrincipals: readonly string[]
}

/** What a certificate (or a tunnel) may be, decided from plain data before anything is signed. */
export interface AccessGrant {
  allowed: true
  rule: string
  principals: string[]
  ttlMs: number
  extensions: string[]
  sourceAddress: string[] | undefined
  /** When the rule's time window (or the grant) ends (Unix ms); undefined without either. Nothing outlives it. */
  until: number | undefined
  /** The access request whose grant this is; null for a standing rule. */
  grantId: string | null
  /** Browser terminals also record keystrokes (the rule's `record_input`). */
  recordInput: boolean
}

export interface AccessDenial {
  allowed: false
  /** One sentence naming the failed check, safe to show to the person (it names only rules that are theirs). */
  reason: string
  /** For the audit log and the tunnel's close: `policy.denied`, `policy.no_rule`, or a condition's code. */
  code: 'policy.denied' | 'policy.no_rule' | 'policy.no_principal' | 'policy.login' | 'policy.request_required' | 'policy.service_scope' | FailedCondition['code']
  /** Signing in again would change the answer (a maximum authentication age, amr, acr). */
  stepUp: boolean
  /** Rules (the person's own) that would grant this host on request; empty after a deny rule. */
  requestable: RequestableRule[]
}

/** How one rule answered: what `policy test` prints for every rule. */
export interface RuleCheck {
  rule: string
  effect: PolicyRule['effect']
  outcome: 'granted' | 'denied' | 'not this person' | 'not this host' | 'condition failed' | 'no valid principal' | 'not this login' | 'needs a request' | 'not reached'
  /** For a failed condition or a missing login: which and why. */
  detail?: string
}

export type AccessDecision = (AccessGrant | AccessDenial) & { checks: RuleCheck[] }

export function ruleMatchesIdentity(rule: PolicyRule, identity: Identity): boolean {
  // Service accounts are named, never reached by a group, user list or email domain (and people never by name of an account).
  if (identity.service !== undefined || isServiceSubject(identity.sub)) return rule.serviceAccounts.includes(identity.username)
  const email = identity.email.toLowerCase()
  if (policyNames(identity).some((name) => rule.users.includes(name.toLowerCase()))) return true
  if (rule.groups.some((group) => identity.groups.includes(group))) return true
  const domain = email.slice(email.lastIndexOf('@') + 1)
  return rule.emailDomains.includes(domain)
}

export function ruleMatchesHost(rule: PolicyRule, host: string): boolean {
  return rule.hosts.some((pattern) => hostMatches(host, pattern))
}

/** `host` is `pattern`, or matches it as an ssh-style pattern (`*.prod.example.com`, `*`). */
export function hostMatches(host: string, pattern: string): boolean {
  return pattern === host || hostMatchesPattern(host, pattern)
}


/** Who a rule with `request:` lets take a grant: its people, and (for break-glass grants) its break_glass list. */
function grantMatchesPerson(rule: PolicyRule, grant: UsableGrant, identity: Identity): boolean {
  return grant.breakGlass ? isMember(rule.request?.breakGlass, identity) : ruleMatchesIdentity(rule, identity)
}

/**
 * Deny by default. A deny rule that matches the person and the host (and whose conditions hold) refuses,
 * whatever the allow rules say. Otherwise the first allow rule that matches the person and the host, whose
 * conditions hold and that yields a valid principal (the asked-for login, if one was asked for) grants.
 * Every rule's answer is kept in `checks`; the denial's reason names the condition that failed on the
 * person's own rule, never a rule that is not theirs. A service account's own scope caps every grant: its
 * hosts, its principals (the rule's that are also its own) and its max_ttl.
 */
export function decideAccess(rules: readonly PolicyRule[], query: AccessQuery, defaults: PolicyDefaults): AccessDecision {
  const checks: RuleCheck[] = []
  const facts = { at: query.at, sourceIp: query.sourceIp, auth: query.auth }
  const { identity, host } = query
  const scope = identity.service
  if (scope === undefined && isServiceSubject(identity.sub)) return deny(checks, rules, `${identity.email} has no service account scope`, 'policy.service_scope', false)
  if (scope !== undefined && !inScope(scope, host)) {
    return deny(checks, rules, `service account ${identity.username} is not scoped to ${host} (its hosts: ${scope.hosts.join(', ')})`, 'policy.service_scope', false)
  }
  let grant: AccessGrant | undefined
  let firstRefusal: Omit<AccessDenial, 'allowed' | 'requestable'> | undefined
  const requestable: RequestableRule[] = []
  for (const rule of rules) {
    const check = (outcome: RuleCheck['outcome'], detail?: string): void => void checks.push({ rule: rule.name, effect: rule.effect, outcome, ...(detail ? { detail } : {}) })
    const breakGlassOnly = rule.request !== undefined && !ruleMatchesIdentity(rule, identity) && isMember(rule.request.breakGlass, identity)
    if (!ruleMatchesIdentity(rule, identity) && !breakGlassOnly) { check('not this person'); continue }
    if (!ruleMatchesHost(rule, host)) { check('not this host'); continue }
    const { failed, closesAt } = checkConditions(rule.when, facts)
    if (rule.effect === 'deny') {
      if (failed) { check('condition failed', failed.reason); continue }
      check('denied')
      return deny(checks, rules, `policy rule "${rule.name}" denies ${identity.email} access to ${host}`, 'policy.denied', false)
    }
    if (grant) { check('not reached'); continue }
    if (failed) {
      check('condition failed', failed.reason)
      firstRefusal ??= { reason: `rule "${rule.name}" does not let ${identity.email} reach ${host} now: ${failed.reason}`, code: failed.code, stepUp: failed.stepUp === true }
      continue
    }
    const rendered = [...new Set(rule.principals.map((template) => renderPrincipal(template, identity, defaults.forbiddenPrincipals)).filter((p) => p !== undefined))]
    const principals = scope === undefined ? rendered : rendered.filter((login) => scope.principals.includes(login))
    if (principals.length === 0) {
      check('no valid principal', scope !== undefined && rendered.length > 0 ? `it grants ${rendered.join(', ')}; the service account may use ${scope.principals.join(', ')}` : undefined)
      firstRefusal ??= scope !== undefined && rendered.length > 0
        ? { reason: `policy rule "${rule.name}" grants ${rendered.join(', ')} on ${host}, none of which service account ${identity.username} may use (${scope.principals.join(', ')})`, code: 'policy.service_scope', stepUp: false }
        : { reason: `policy rule "${rule.name}" yields no valid unix account for ${identity.email} on ${host}`, code: 'policy.no_principal', stepUp: false }
      continue
    }
    if (query.login !== undefined && !principals.includes(query.login)) {
      check('not this login', `it grants ${principals.join(', ')}`)
      firstRefusal ??= { reason: `no policy rule lets ${identity.email} log in to ${host} as ${query.login} (rule "${rule.name}" grants ${principals.join(', ')})`, code: 'policy.login', stepUp: false }
      continue
    }
    let until = closesAt
    let grantId: string | null = null
    let logins = query.login !== undefined ? [query.login] : principals
    if (rule.request) {
      // On request: only what an approved request names, and only until it ends.
      const usable = (query.grants ?? []).find((candidate) =>
        candidate.rule === rule.name && candidate.endsAt > query.at && hostMatches(host, candidate.host) && logins.includes(candidate.login) && grantMatchesPerson(rule, candidate, identity))
      if (!usable) {
        check('needs a request', `it grants ${principals.join(', ')} on request`)
        requestable.push({ rule: rule.name, logins: principals, maxDurationMs: rule.request.maxDurationMs, reasonRequired: rule.request.reasonRequired, reasonPrompt: rule.request.reasonPrompt, breakGlassOnly })
        firstRefusal ??= { reason: `${host} needs an approved access request for ${identity.email} (rule "${rule.name}")`, code: 'policy.request_required', stepUp: false }
        continue
      }
      until = until === undefined ? usable.endsAt : Math.min(until, usable.endsAt)
      grantId = usable.id
      logins = [usable.login]
    }
    check('granted')
    grant = {
      allowed: true,
      rule: rule.name,
      principals: logins,
      ttlMs: Math.min(query.requestedTtlMs ?? rule.maxTtlMs, rule.maxTtlMs, scope?.maxTtlMs ?? Infinity),
      extensions: rule.extensions,
      sourceAddress: rule.sourceAddress ?? defaults.sourceAddress,
      until,
      grantId,
      recordInput: rule.recordInput,
    }
  }
  if (grant) return { ...grant, checks }
  if (firstRefusal) return { allowed: false, ...firstRefusal, requestable, checks }
  return deny(checks, rules, `no policy rule grants ${identity.email} access to ${host}`, 'policy.no_rule', false, requestable)
}

function inScope(scope: ServiceScope, host: string): boolean {
  return scope.hosts.some((pattern) => pattern === '*' || pattern === host || hostMatchesPattern(host, pattern))
}

function deny(checks: RuleCheck[], rules: readonly PolicyRule[], reason: string, code: AccessDenial['code'], stepUp: boolean, requestable: RequestableRule[] = []): AccessDecision {
  // A deny rule ends the evaluation: the rules after it were not looked at.
  for (const rule of rules.slice(checks.length)) checks.push({ rule: rule.name, effect: rule.effect, outcome: 'not reached' })
  return { allowed: false, reason, code, stepUp, requestable, checks }
}
