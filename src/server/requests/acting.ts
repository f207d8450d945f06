import { JitsshError } from '../../shared/errors.js'
import { isAdmin } from '../admin/admins.js'
import type { Uses } from '../context.js'
import type { RequestActor } from './access-requests.js'

/** Runs `action` for `actor` (CLI or browser) and audits a refusal (`access.denied`) with what was tried. */
export async function actingAs<T>(ctx: Uses<'audit' | 'config'>, actor: RequestActor, what: string, requestId: string | undefined, action: (actor: RequestActor, admin: boolean) => Promise<T>): Promise<T> {
  try {
    return await action(actor, isAdmin(ctx, actor.identity))
  } catch (error) {
    if (error instanceof JitsshError && (error.code === 'ERR_FORBIDDEN' || error.code === 'ERR_POLICY_DENIED')) {
      await ctx.audit.record({
        type: 'access.denied', outcome: 'denied', user: actor.identity.email, sessionId: actor.sessionId,
        detail: { action: what, code: error.code, reason: error.message, ip: actor.ip, request_id: requestId?.slice(0, 40) ?? null },
      })
    }
    throw error
  }
}
