import type { FastifyInstance } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type {
  AuditPage, DisabledUserList, ReloadResult, RevokeRequest, RevokeResult, SessionList, TunnelList, UserAccessRequest, UserAccessResult,
} from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import type { SessionRow } from '../store/store.js'
import { requestedObject } from '../http/request-fields.js'
import { SILENT_BEATS } from '../replicas/replica-lease.js'
import { adminReason, Revocations } from '../revocation/revocation-service.js'
import { parseAuditSearch, searchAuditPage, type AuditSearchParams } from './audit-query.js'
import { requireAdmin } from './require-admin.js'
import { resolveUserEmail } from './user-names.js'

const iso = (ms: number): string => new Date(ms).toISOString()

function sessionState(row: SessionRow, now: number): 'active' | 'revoked' | 'expired' {
  if (row.revokedAt !== null) return 'revoked'
  return row.expiresAt <= now ? 'expired' : 'active'
}

/**
 * The admin API under `/v1/admin/`, for sessions of the admins named in the config (`admins: {users,
 * groups}`); everyone else gets 403 `ERR_FORBIDDEN`. Reads are not audited; every change is.
 *
 *   GET  audit?user=&host=&type=&since=&until=&limit=&cursor=&order=   AuditPage, newest first by default
 *   GET  sessions[?all=1][&user=U]                                     SessionList (active only without all; live tunnels on every live replica)
 *   GET  tunnels                                                       TunnelList (this replica's)
 *   POST revoke {session_id} | {user} [reason]                         RevokeResult
 *   POST users/disable {user} [reason], users/enable {user}            UserAccessResult
 *   GET  users/disabled                                                DisabledUserList
 */
export type AdminRouteDeps = Uses<'accessTokens' | 'audit' | 'config' | 'now' | 'reload' | 'sessions' | 'tunnels', 'admin' | 'replicas' | 'sessions' | 'users'>

export function registerAdminRoutes(app: FastifyInstance, ctx: AdminRouteDeps): void {
  const revocations = new Revocations(ctx)

  app.get<{ Querystring: AuditSearchParams }>('/v1/admin/audit', async (request): Promise<AuditPage> => {
    await requireAdmin(ctx, request)
    return searchAuditPage(ctx, await parseAuditSearch(ctx, request.query))
  })

  app.get<{ Querystring: { all?: unknown; user?: unknown } }>('/v1/admin/sessions', async (request): Promise<SessionList> => {
    await requireAdmin(ctx, request)
    const all = request.query.all
    if (all !== undefined && all !== '1' && all !== 'true' && all !== '0' && all !== 'false') throw new JitsshError('ERR_BAD_REQUEST', 'all must be 1 or 0')
    const userEmail = request.query.user === undefined || request.query.user === '' ? undefined : await resolveUserEmail(ctx, request.query.user)
    const now = ctx.now()
    const rows = await ctx.store.admin.listSessions({ now, includeEnded: all === '1' || all === 'true', limit: 10_000, ...(userEmail ? { userEmail } : {}) })
    // Counted from the processes alive now: the tunnels of one that died and was not reaped yet are not live.
    const live = await ctx.store.replicas.liveTunnelsBySession(await ctx.store.replicas.now(), SILENT_BEATS)
    return {
      sessions: rows.map((row) => ({
        session_id: row.id, user: row.identity.email, created_at: iso(row.createdAt), expires_at: iso(row.expiresAt),
        revoked_at: row.revokedAt === null ? null : iso(row.revokedAt), live_tunnels: live.get(row.id) ?? 0,
        state: sessionState(row, now), revoked_reason: row.revokedReason, grant: row.grant, client_ip: row.clientIp,
      })),
    }
  })

  app.get('/v1/admin/tunnels', async (request): Promise<TunnelList> => {
    await requireAdmin(ctx, request)
    return {
      tunnels: ctx.tunnels.list().map((tunnel) => ({ id: tunnel.id, session_id: tunnel.sessionId, user: tunnel.user, host: tunnel.host, opened_at: iso(tunnel.openedAt) })),
    }
  })

  app.post('/v1/admin/revoke', async (request): Promise<RevokeResult> => {
    const admin = await requireAdmin(ctx, request)
    const input = requestedObject<RevokeRequest>(request.body, '{session_id} or {user}')
    const reason = adminReason(input.reason)
    if ((input.session_id === undefined) === (input.user === undefined)) throw new JitsshError('ERR_BAD_REQUEST', 'give exactly one of session_id and user')
    if (input.session_id !== undefined) return revocations.revokeSession(input.session_id, admin, reason)
    return revocations.revokeUser(await resolveUserEmail(ctx, input.user), admin, reason)
  })

  app.post('/v1/admin/users/disable', async (request): Promise<UserAccessResult> => {
    const admin = await requireAdmin(ctx, request)
    const input = requestedObject<UserAccessRequest>(request.body, '{user}')
    const email = await resolveUserEmail(ctx, input.user)
    if (email === admin.session.identity.email) throw new JitsshError('ERR_BAD_REQUEST', 'admins cannot disable themselves')
    return revocations.disableUser(email, admin, adminReason(input.reason))
  })

  app.post('/v1/admin/users/enable', async (request): Promise<UserAccessResult> => {
    const admin = await requireAdmin(ctx, request)
    const input = requestedObject<UserAccessRequest>(request.body, '{user}')
    return revocations.enableUser(await resolveUserEmail(ctx, input.user), admin, adminReason(input.reason))
  })

  /** This replica reads its config file again (each replica reloads its own: see the README on rolling a change). */
  app.post('/v1/admin/reload', async (request): Promise<ReloadResult> => {
    const admin = await requireAdmin(ctx, request)
    const outcome = await ctx.reload(admin.session.identity.email)
    if (!outcome.ok) throw new JitsshError('ERR_INVALID_CONFIG', outcome.error)
    return { reloaded: true, changed: outcome.changed, policy_rules: outcome.config.policy.length, targets: outcome.config.targets.size }
  })

  app.get('/v1/admin/users/disabled', async (request): Promise<DisabledUserList> => {
    await requireAdmin(ctx, request)
    const rows = await ctx.store.admin.listDisabledUsers()
    return { users: rows.map((row) => ({ user: row.email, disabled_at: iso(row.changedAt), disabled_by: row.changedBy, reason: row.reason })) }
  })
}
