import { JitsshError } from '../../shared/errors.js'
import type { TargetAddress } from '../config/types.js'
import type { ServerContext } from '../context.js'
import { requestedPort } from '../http/request-fields.js'
import { decideAccess, type AccessGrant } from '../policy/policy.js'
import type { SessionRow } from '../store/store.js'

export type HostAccessDeps = Pick<ServerContext, 'config' | 'sessions'>

/** What a connection to a host may do, once every check passed. */
export interface HostAccess {
  /** The session as it is now, with the person re-resolved. */
  session: SessionRow
  /** The policy's grant: principals, lifetime, extensions, source-address, whether input is recorded. */
  decision: AccessGrant
  /** Where the bastion connects: the configured address of the host. */
  target: TargetAddress
}

export interface HostAccessRequest {
  /** The port the client asked for, as received (absent for the browser terminal); checked after the policy. */
  port?: unknown
  /** The client's address (for policy conditions on networks). */
  sourceIp: string
}

/**
 * Every check that stands between a person and a host's sshd, for every way in (the bastion's tunnels, the
 * browser terminal, the hosts a home page lists), in one place and in this order: the session is active and
 * its person is re-resolved (SessionService.requireActive); the policy grants the host; the host is a
 * configured target; the port is the target's. Throws JitsshError: ERR_NOT_LOGGED_IN / ERR_SESSION_REVOKED,
 * ERR_POLICY_DENIED (with the policy's reason), ERR_FORBIDDEN (not a target; port not open), ERR_BAD_REQUEST
 * (a malformed port).
 */
export async function checkHostAccess(deps: HostAccessDeps, session: Pick<SessionRow, 'id'>, host: string, request: HostAccessRequest): Promise<HostAccess> {
  const active = await deps.sessions.requireActive(session.id)
  const decision = decideAccess(deps.config.policy, active.identity, host, deps.config.certificates)
  if (!decision.allowed) throw new JitsshError('ERR_POLICY_DENIED', decision.reason)
  const target = deps.config.targets.get(host)
  if (!target) throw new JitsshError('ERR_FORBIDDEN', `${host} is not a target of this bastion`)
  resolveTargetPort(host, target, request.port)
  return { session: active, decision, target }
}

/**
 * Port rule: the config maps a host to one address. The ProxyCommand sends `port=%p`; the configured
 * address is used when the port is 22, absent, or equal to the configured port. Anything else is refused.
 */
export function resolveTargetPort(host: string, target: TargetAddress, portParam: unknown): void {
  const port = requestedPort(portParam)
  if (port !== undefined && port !== 22 && port !== target.port) throw new JitsshError('ERR_FORBIDDEN', `port ${port} is not open for ${host}`)
}
