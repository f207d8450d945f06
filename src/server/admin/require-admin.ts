import type { FastifyRequest } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { Uses } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import type { Identity } from '../identity/identity.js'
import { isAdmin, isAuditor } from './admins.js'

export type RequireAdminDeps = Uses<'accessTokens' | 'audit' | 'config' | 'sessions'>

/** Who may do what: `admin` (admins: {users, groups}) or `auditor` (play recordings back: auditors, and admins). */
export type AdminRole = 'admin' | 'auditor'

/**
 * A live session of a configured admin (`admins: {users, groups}`), else 401 (no or bad token) or 403. The
 * 403 is audited (`access.denied`, action `admin`): someone tried to use admin rights they do not have.
 */
export async function requireAdmin(ctx: RequireAdminDeps, request: FastifyRequest): Promise<Authenticated> {
  return requireRole(ctx, request, 'admin')
}

/** requireAdmin for the recordings: admins and auditors. */
export async function requireAuditor(ctx: RequireAdminDeps, request: FastifyRequest): Promise<Authenticated> {
  return requireRole(ctx, request, 'auditor')
}

async function requireRole(ctx: RequireAdminDeps, request: FastifyRequest, role: AdminRole): Promise<Authenticated> {
  const auth = await authenticateBearer(ctx, request)
  await checkRole(ctx, request, auth.session.identity, role, auth.session.id)
  return auth
}

/**
 * Whether `identity` has `role` now; if not, the refusal is audited (`access.denied`, action `admin`) and thrown
 * as ERR_FORBIDDEN. For the API (a token's session) and the pages (a browser's) alike.
 */
export async function checkRole(ctx: Uses<'audit' | 'config'>, request: FastifyRequest, identity: Identity, role: AdminRole, sessionId: string | null): Promise<void> {
  if (role === 'admin' ? isAdmin(ctx, identity) : isAuditor(ctx, identity)) return
  const reason = role === 'admin' ? `admin rights needed: ${identity.email} is not an admin of this server` : `auditor rights needed: ${identity.email} may not see recordings of this server`
  await ctx.audit.record({
    type: 'access.denied', outcome: 'denied', user: identity.email, sessionId,
    detail: { action: 'admin', method: request.method, path: request.url.split('?')[0], reason, ip: request.ip },
  })
  throw new JitsshError('ERR_FORBIDDEN', reason)
}
