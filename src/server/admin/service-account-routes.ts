import type { FastifyInstance } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { RevokeResult, ServiceAccountList, ServiceAccountRequest, UserAccessResult } from '../../shared/protocol.js'
import type { ServiceAccount } from '../config/types.js'
import type { Uses } from '../context.js'
import { requestedObject } from '../http/request-fields.js'
import { serviceSubject } from '../identity/identity.js'
import { findServiceAccount } from '../identity/service-accounts.js'
import { adminReason, Revocations } from '../revocation/revocation-service.js'
import { requireAdmin } from './require-admin.js'

export type ServiceAccountRouteDeps = Uses<'accessTokens' | 'audit' | 'config' | 'now' | 'sessions' | 'tunnels', 'admin' | 'sessions' | 'users'>

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * Service accounts in the admin API, beside the people (`/v1/admin/users/...`): the same store flag and the
 * same revocation, keyed by `service:<name>`, so a disabled or revoked account loses its sessions, its live
 * tunnels close and its unexpired certificates go on the KRL.
 *
 *   GET  service-accounts                                  ServiceAccountList
 *   POST service-accounts/disable {name} [reason]          UserAccessResult (user: service:<name>)
 *   POST service-accounts/enable {name} [reason]           UserAccessResult
 *   POST service-accounts/revoke {name} [reason]           RevokeResult: every session ends now; it may authenticate again
 */
export function registerServiceAccountRoutes(app: FastifyInstance, ctx: ServiceAccountRouteDeps): void {
  const revocations = new Revocations(ctx)
  const account = (body: unknown): { account: ServiceAccount; reason: string | null } => {
    const input = requestedObject<ServiceAccountRequest>(body, '{name}')
    if (typeof input.name !== 'string' || input.name.trim() === '') throw new JitsshError('ERR_BAD_REQUEST', 'name must be a service account name')
    const name = input.name.trim().replace(/^service:/, '')
    const found = findServiceAccount(ctx.config, name)
    if (!found) throw new JitsshError('ERR_NOT_FOUND', `no service account named ${JSON.stringify(name.slice(0, 80))} is configured on this server`)
    return { account: found, reason: adminReason(input.reason) }
  }

  app.get('/v1/admin/service-accounts', async (request): Promise<ServiceAccountList> => {
    await requireAdmin(ctx, request)
    const disabled = new Map((await ctx.store.admin.listDisabledUsers()).map((row) => [row.email, row]))
    const now = ctx.now()
    const accounts = await Promise.all(ctx.config.serviceAccounts.map(async (entry) => {
      const key = serviceSubject(entry.name)
      const sessions = await ctx.store.admin.listSessions({ now, includeEnded: false, userEmail: key, limit: 100_000 })
      const flag = disabled.get(key)
      return {
        name: entry.name,
        user: key,
        owner: entry.owner,
        hosts: entry.hosts,
        principals: entry.principals,
        max_ttl_seconds: Math.floor(entry.maxTtlMs / 1000),
        disabled_in_config: entry.disabled,
        disabled_by_admin: flag ? { disabled_at: iso(flag.changedAt), disabled_by: flag.changedBy, reason: flag.reason } : null,
        trusts: entry.trusts.map((trust) => ({ name: trust.name, issuer: trust.issuer, audience: trust.audience, allow_pull_requests: trust.allowPullRequests })),
        clients: entry.clients.map((client) => ({ id: client.id, method: client.method })),
        active_sessions: sessions.length,
      }
    }))
    return { service_accounts: accounts }
  })

  app.post('/v1/admin/service-accounts/disable', async (request): Promise<UserAccessResult> => {
    const admin = await requireAdmin(ctx, request)
    const { account: target, reason } = account(request.body)
    return revocations.disableUser(serviceSubject(target.name), admin, reason, 'admin.service_account.disable')
  })

  app.post('/v1/admin/service-accounts/enable', async (request): Promise<UserAccessResult> => {
    const admin = await requireAdmin(ctx, request)
    const { account: target, reason } = account(request.body)
    return revocations.enableUser(serviceSubject(target.name), admin, reason, 'admin.service_account.enable')
  })

  app.post('/v1/admin/service-accounts/revoke', async (request): Promise<RevokeResult> => {
    const admin = await requireAdmin(ctx, request)
    const { account: target, reason } = account(request.body)
    return revocations.revokeUser(serviceSubject(target.name), admin, reason)
  })
}
