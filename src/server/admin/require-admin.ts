import type { FastifyRequest } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { Uses } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import { isAdmin } from './admins.js'

export type RequireAdminDeps = Uses<'accessTokens' | 'audit' | 'config' | 'sessions'>

/**
 * A live session of a configured admin (`admins: {users, groups}`), else 401 (no or bad token) or 403. The
 * 403 is audited (`access.denied`, action `admin`): someone tried to use admin rights they do not have.
 */
export async function requireAdmin(ctx: RequireAdminDeps, request: FastifyRequest): Promise<Authenticated> {
  const auth = await authenticateBearer(ctx, request)
  const { identity } = auth.session
  if (isAdmin(ctx, identity)) return auth
  const reason = `admin rights needed: ${identity.email} is not an admin of this server`
  await ctx.audit.record({
    type: 'access.denied', outcome: 'denied', user: identity.email, sessionId: auth.session.id,
    detail: { action: 'admin', method: request.method, path: request.url.split('?')[0], reason, ip: request.ip },
  })
  throw new JitsshError('ERR_FORBIDDEN', reason)
}

