import { once } from 'node:events'
import { JitsshError } from '../../shared/errors.js'
import { TUNNEL_CLOSE } from '../../shared/protocol.js'
import type { ServerConfig } from '../config/types.js'
import { AccessDeniedError, checkHostAccess } from '../policy/access.js'
import type { UsableGrant } from '../policy/policy.js'
import type { AccessRequests } from '../requests/access-requests.js'
import type { SessionService } from '../sessions/session-service.js'
import type { SessionRow } from '../store/store.js'
import { TunnelRegistry } from './tunnel-registry.js'

/** How often every session with live tunnels is checked again (ended or revoked while nobody told us). */
const SWEEP_MS = 1_000

/**
 * Owns the live tunnels of this process and decides when they end, in one place:
 * - a revocation here or on another replica (the session service relays the store's events) closes the
 *   session's or the user's tunnels at once; after a lost subscription (`resync`) every session is re-checked;
 * - every second, each session with live tunnels is checked, so a session that ended (its absolute end, or a
 *   revocation whose event was missed) takes its tunnels with it;
 * - a tunnel that was checked just before its session was revoked may open just after: it is checked once
 *   more as it is added;
 * - `stop` closes everything (server shutdown) and waits until each close is audited.
 */
export class TunnelSupervisor extends TunnelRegistry {
  private timer: NodeJS.Timeout | undefined
  private readonly unsubscribe: Array<() => void> = []

  constructor(
    private readonly sessions: SessionService,
    /** Access grants: a revoked one closes its tunnels at once; each sweep checks the person's grants as they are now. */
    private readonly requests: Pick<AccessRequests, 'grantsFor' | 'onGrantRevoked'>,
    /** The running configuration (policy, targets), read at each check: a reload applies to live tunnels too. */
    private readonly config: () => ServerConfig,
    private readonly now: () => number,
  ) {
    super()
  }

  start(): void {
    this.unsubscribe.push(
      this.sessions.onRevoke((sessionId, reason) => void this.closeSession(sessionId, TUNNEL_CLOSE.SESSION_REVOKED, `session revoked: ${reason}`)),
      this.sessions.onUserRevoke((user, reason) => void this.closeUser(user, TUNNEL_CLOSE.SESSION_REVOKED, `session revoked: ${reason}`)),
      this.sessions.onResync(() => void this.sweep()),
      this.requests.onGrantRevoked((grantId, reason) => void this.closeGrant(grantId, TUNNEL_CLOSE.POLICY_DENIED, `grant.revoked: access grant ${grantId} was revoked: ${reason}`)),
    )
    const recheck = (tunnel: { sessionId: string; close(code: number, reason: string): void }): void => {
      this.sessions.requireActive(tunnel.sessionId).catch((error: unknown) => {
        if (error instanceof JitsshError) tunnel.close(TUNNEL_CLOSE.SESSION_REVOKED, error.message)
      })
    }
    this.on('added', recheck)
    this.unsubscribe.push(() => this.off('added', recheck))
    this.timer = setInterval(() => void this.sweep(), SWEEP_MS).unref()
  }

  /**
   * Checks each live tunnel once: its session (ended, revoked, its person no longer known: closed with 4001)
   * and the policy for its person, host and client address now (a time window that closed, a rule or target
   * that a reload removed, a deny rule added, an access grant that ended: closed with 4003 and the policy's
   * code in the reason).
   */
  async sweep(): Promise<void> {
    const at = this.now()
    for (const sessionId of this.sessionIds()) {
      let session: SessionRow
      try {
        session = await this.sessions.requireActive(sessionId)
      } catch (error) {
        if (error instanceof JitsshError) this.closeSession(sessionId, TUNNEL_CLOSE.SESSION_REVOKED, error.message)
        continue
      }
      let grants: UsableGrant[]
      try {
        grants = await this.requests.grantsFor(session.identity, at)
      } catch {
        continue // the store is unreachable: the next sweep tries again (a revocation still arrives as an event)
      }
      for (const tunnel of this.list()) {
        if (tunnel.sessionId !== sessionId) continue
        try {
          checkHostAccess(this.config(), session, { host: tunnel.host, at, sourceIp: tunnel.sourceIp, grants })
        } catch (error) {
          if (!(error instanceof JitsshError)) continue
          const ended = tunnel.grantId !== null && !grants.some((grant) => grant.id === tunnel.grantId)
          const code = ended ? 'grant.ended' : error instanceof AccessDeniedError ? error.decision.code : 'policy.target_removed'
          const reason = ended ? `the access grant ${tunnel.grantId} for ${tunnel.host} has ended` : error.message
          tunnel.close(TUNNEL_CLOSE.POLICY_DENIED, `${code}: ${reason}`)
        }
      }
    }
  }

  /** Closes every tunnel with `reason` and waits (up to `timeoutMs`) until each has left, its close audited. */
  async stop(reason: string, timeoutMs = 3_000): Promise<void> {
    clearInterval(this.timer)
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe()
    this.closeAll(TUNNEL_CLOSE.GOING_AWAY, reason)
    const deadline = Date.now() + timeoutMs
    while (this.size > 0 && Date.now() < deadline) {
      await Promise.race([once(this, 'removed'), new Promise((resolve) => setTimeout(resolve, deadline - Date.now()).unref())])
    }
  }
}
