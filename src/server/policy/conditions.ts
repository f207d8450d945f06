import { BlockList, isIP } from 'node:net'
import type { RuleConditions } from '../config/types.js'
import type { AuthContext } from '../identity/identity.js'
import { windowClosesAt } from './time-window.js'

/** The facts a condition is checked against. */
export interface ConditionFacts {
  at: number
  /** The client's address as the server sees it. */
  sourceIp: string | undefined
  auth: AuthContext | null
}

/**
 * A condition that does not hold, with a code for the audit log (`policy.window_closed`, ...) and a sentence
 * for the person. `stepUp`: signing in again would satisfy it.
 */
export interface FailedCondition {
  code: 'policy.window_closed' | 'policy.source_network' | 'policy.auth_age' | 'policy.amr' | 'policy.acr'
  reason: string
  stepUp?: true
}

const blockLists = new WeakMap<string[], BlockList>()

function networksOf(cidrs: string[]): BlockList {
  let list = blockLists.get(cidrs)
  if (!list) {
    list = new BlockList()
    for (const cidr of cidrs) {
      const [address, prefix] = cidr.split('/') as [string, string | undefined]
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
      list.addSubnet(address, prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix), family)
    }
    blockLists.set(cidrs, list)
  }
  return list
}

/** True when `ip` (an IPv4-mapped IPv6 address counts as its IPv4 address) is in one of `cidrs`. */
export function inNetworks(ip: string | undefined, cidrs: string[]): boolean {
  if (ip === undefined) return false
  const plain = ip.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1')
  const family = isIP(plain)
  if (family === 0) return false
  return networksOf(cidrs).check(plain, family === 6 ? 'ipv6' : 'ipv4')
}

const formatAge = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 60_000)}m`)

/**
 * The first condition that does not hold, or undefined. With a time window, `closesAt` says when it closes
 * (a certificate must not outlive it).
 */
export function checkConditions(conditions: RuleConditions | undefined, facts: ConditionFacts): { failed?: FailedCondition; closesAt?: number } {
  if (!conditions) return {}
  if (conditions.sourceNetworks && !inNetworks(facts.sourceIp, conditions.sourceNetworks)) {
    return { failed: { code: 'policy.source_network', reason: `your address ${facts.sourceIp ?? '(unknown)'} is not in the networks it allows (${conditions.sourceNetworks.join(', ')})` } }
  }
  let closesAt: number | undefined
  if (conditions.window) {
    closesAt = windowClosesAt(conditions.window, facts.at)
    if (closesAt === undefined) return { failed: { code: 'policy.window_closed', reason: `it allows access only ${conditions.window.text}` } }
  }
  if (conditions.maxAuthAgeMs !== undefined) {
    const age = facts.at - (facts.auth?.time ?? 0)
    if (age > conditions.maxAuthAgeMs) {
      return { failed: { code: 'policy.auth_age', reason: `it needs a sign-in of at most ${formatAge(conditions.maxAuthAgeMs)} ago: sign in again`, stepUp: true } }
    }
  }
  if (conditions.amr) {
    const missing = conditions.amr.filter((value) => !facts.auth?.amr?.includes(value))
    if (missing.length > 0) return { failed: { code: 'policy.amr', reason: `it needs a sign-in with ${missing.join(' and ')}: sign in again with it`, stepUp: true } }
  }
  if (conditions.acr && !conditions.acr.includes(facts.auth?.acr ?? '')) {
    return { failed: { code: 'policy.acr', reason: `it needs a sign-in of level ${conditions.acr.join(' or ')}: sign in again with it`, stepUp: true } }
  }
  return closesAt === undefined ? {} : { closesAt }
}
