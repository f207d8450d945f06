import { hostMatchesPattern } from '../../ssh/config.js'
import type { PolicyRule } from '../config/types.js'
import { policyNames, type Identity } from '../identity/identity.js'
import { renderPrincipal } from './principals.js'

/**
 * What a certificate may contain, decided from plain data (the rules and the identity) before anything is
 * signed. The first rule that matches both the person and the host wins; nothing matches → denied.
 */
export interface AccessGrant {
  allowed: true
  rule: string
  principals: string[]
  ttlMs: number
  extensions: string[]
  sourceAddress: string[] | undefined
  /** Browser terminals also record keystrokes (the rule's `record_input`). */
  recordInput: boolean
}

export interface AccessDenial {
  allowed: false
  /** One sentence naming the failed check, safe to show to the person. */
  reason: string
}

export type AccessDecision = AccessGrant | AccessDenial

export function ruleMatchesIdentity(rule: PolicyRule, identity: Identity): boolean {
  const email = identity.email.toLowerCase()
  if (policyNames(identity).some((name) => rule.users.includes(name.toLowerCase()))) return true
  if (rule.groups.some((group) => identity.groups.includes(group))) return true
  const domain = email.slice(email.lastIndexOf('@') + 1)
  return rule.emailDomains.includes(domain)
}

export function ruleMatchesHost(rule: PolicyRule, host: string): boolean {
  return rule.hosts.some((pattern) => (pattern === host ? true : hostMatchesPattern(host, pattern)))
}

export function decideAccess(
  rules: readonly PolicyRule[],
  identity: Identity,
  host: string,
  defaults: { sourceAddress: string[] | undefined; forbiddenPrincipals: readonly string[] },
): AccessDecision {
  let emptyPrincipalsRule: string | undefined
  for (const rule of rules) {
    if (!ruleMatchesIdentity(rule, identity) || !ruleMatchesHost(rule, host)) continue
    const principals = [...new Set(rule.principals.map((template) => renderPrincipal(template, identity, defaults.forbiddenPrincipals)).filter((p) => p !== undefined))]
    if (principals.length === 0) {
      emptyPrincipalsRule ??= rule.name
      continue
    }
    return {
      allowed: true,
      rule: rule.name,
      principals,
      ttlMs: rule.maxTtlMs,
      extensions: rule.extensions,
      sourceAddress: rule.sourceAddress ?? defaults.sourceAddress,
      recordInput: rule.recordInput,
    }
  }
  if (emptyPrincipalsRule !== undefined) {
    return { allowed: false, reason: `policy rule "${emptyPrincipalsRule}" yields no valid unix account for ${identity.email} on ${host}` }
  }
  return { allowed: false, reason: `no policy rule grants ${identity.email} access to ${host}` }
}
