import type { TargetAddress } from '../config/types.js'
import type { Uses } from '../context.js'
import { requestedPort } from '../http/request-fields.js'
import { checkHostAccess } from '../policy/access.js'
import type { AccessGrant } from '../policy/policy.js'
import type { SessionRow } from '../store/store.js'

export type HostAccessDeps = Uses<'config' | 'now' | 'requests' | 'sessions'>

/** What a connection to a host may do, once every check passed. */
export interface HostAccess {
  /** The session as it is now, with the person re-resolved. */
  session: SessionRow
  /** The policy's grant: principals, lifetime, extensions, source-address, the access request it rides on, input recording. */
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
 * browser terminal, the hosts a home page lists), in this order: the session is active and its person is
 * re-resolved (SessionService.requireActive); then, with the person's usable access grants, the policy, the
 * configured target and the port rule (checkHostAccess, which the tunnel supervisor asks again for live
 * connections). Throws JitsshError: ERR_NOT_LOGGED_IN / ERR_SESSION_REVOKED, ERR_POLICY_DENIED or
 * ERR_STEP_UP_REQUIRED (AccessDeniedError, with the policy's reason), ERR_FORBIDDEN (not a target; port not
 * open), ERR_BAD_REQUEST (a malformed port).
 */
export async function openHostAccess(deps: HostAccessDeps, session: Pick<SessionRow, 'id'>, host: string, request: HostAccessRequest): Promise<HostAccess> {
  const active = await deps.sessions.requireActive(session.id)
  const at = deps.now()
  const port = requestedPort(request.port)
  const grants = await deps.requests.grantsFor(active.identity, at)
  const { grant, target } = checkHostAccess(deps.config, active, { host, at, sourceIp: request.sourceIp, grants, ...(port !== undefined ? { port } : {}) })
  return { session: active, decision: grant, target }
}
