import { JitsshError } from '../../shared/errors.js'
import type { ServerConfig, TargetAddress } from '../config/types.js'
import type { SessionRow } from '../store/store.js'
import { decideAccess, type AccessDecision, type AccessDenial, type AccessGrant, type UsableGrant } from './policy.js'

/**
 * A policy denial as an error: ERR_STEP_UP_REQUIRED when signing in again would change it, else
 * ERR_POLICY_DENIED; its hint is the command that would help (a fresh login, or an access request).
 */
export class AccessDeniedError extends JitsshError {
  constructor(readonly decision: Exclude<AccessDecision, AccessGrant>, host: string) {
    const ask = requestCommand(decision, host)
    super(decision.stepUp ? 'ERR_STEP_UP_REQUIRED' : 'ERR_POLICY_DENIED', decision.reason, decision.stepUp ? { hint: 'run: jitssh login --force' } : ask ? { hint: `ask: ${ask}` } : {})
  }
}

/**
 * The exact `jitssh request create ...` (or `break-glass`) that would ask for `host` through the first of the
 * person's rules with `request:`; undefined when none covers it. The duration offered is at most an hour.
 */
export function requestCommand(decision: Pick<AccessDenial, 'requestable'>, host: string): string | undefined {
  const rule = decision.requestable[0]
  if (!rule) return undefined
  const login = rule.logins.length === 1 ? rule.logins[0]! : `<${rule.logins.join('|')}>`
  const minutes = Math.min(60, Math.floor(rule.maxDurationMs / 60_000))
  const duration = minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`
  const reason = rule.reasonRequired || rule.breakGlassOnly ? ` --reason "${(rule.reasonPrompt ?? 'why').replace(/["\\$`]/g, '')}"` : ''
  return `jitssh request ${rule.breakGlassOnly ? 'break-glass' : 'create'} --host ${host} --login ${login} --duration ${duration}${reason}`
}

/** Where and when: the circumstances of one request. */
export interface AccessCircumstances {
  host: string
  at: number
  sourceIp: string | undefined
  requestedTtlMs?: number
  /** The person's usable access grants (AccessRequests.grantsFor), for rules with `request:`. */
  grants?: readonly UsableGrant[]
}

/** The policy's answer for this session (its person as they are now) and host; AccessDeniedError when it says no. */
export function requireGrant(config: Pick<ServerConfig, 'policy' | 'certificates'>, session: SessionRow, circumstances: AccessCircumstances): AccessGrant & { checks: AccessDecision['checks'] } {
  const decision = decideAccess(config.policy, { identity: session.identity, auth: session.auth ?? { time: session.createdAt, method: 'password' }, ...circumstances }, config.certificates)
  if (!decision.allowed) throw new AccessDeniedError(decision, circumstances.host)
  return decision
}

/**
 * What the bastion (and the browser terminal) checks before connecting to a target: the policy for this
 * session's person, host and circumstances, then the configured target and the port rule. The same function
 * answers again for live tunnels (the tunnel supervisor), so the answer at open and later cannot differ.
 */
export function checkHostAccess(
  config: Pick<ServerConfig, 'policy' | 'certificates' | 'targets'>,
  session: SessionRow,
  circumstances: AccessCircumstances & { port?: number },
): { grant: AccessGrant; target: TargetAddress } {
  const grant = requireGrant(config, session, circumstances)
  const { host, port } = circumstances
  const target = config.targets.get(host)
  if (!target) throw new JitsshError('ERR_FORBIDDEN', `${host} is not a target of this bastion`)
  if (port !== undefined && port !== 22 && port !== target.port) throw new JitsshError('ERR_FORBIDDEN', `port ${port} is not open for ${host}`)
  return { grant, target }
}

/** For an audit event: the policy's code and its answer per rule, when `error` is a policy denial. */
export function policyDetail(error: unknown): { policy?: string; rules?: AccessDecision['checks'] } {
  return error instanceof AccessDeniedError ? { policy: error.decision.code, rules: error.decision.checks } : {}
}
