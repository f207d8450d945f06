import type { FastifyInstance } from 'fastify'
import { isJitsshError, JitsshError } from '../../shared/errors.js'
import type { Uses } from '../context.js'
import { fromOwnOrigin } from '../http/same-origin.js'
import { PAGE_CSP } from '../pages/html.js'
import { AUDIT_FILTER_NAMES, renderAuditPage, renderSessionsPage, type SessionLine } from '../pages/admin-pages.js'
import { filterValues } from '../pages/filter-form.js'
import { renderMessagePage } from '../pages/login-page.js'
import { signedInWithRole } from '../pages/signed-in-page.js'
import { Revocations } from '../revocation/revocation-service.js'
import { parseAuditSearch, searchAuditPage, type AuditSearchParams } from './audit-query.js'
import { resolveUserEmail } from './user-names.js'

export type AdminPageDeps = Uses<'audit' | 'browser' | 'config' | 'now' | 'publicUrl' | 'sessions' | 'tunnels', 'admin' | 'sessions' | 'users'>

const minute = (ms: number): string => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`

/**
 * The admin pages, for the configured admins, signed in with the browser:
 *   GET /admin              active sessions with their live tunnels and terminals, a revoke button each
 *   POST /admin/revoke      {csrf_token, session_id | user}  (CSRF and Origin checked) → back to /admin
 *   GET /admin/audit?...    the audit log search of GET /v1/admin/audit, as a page
 */
export function registerAdminPageRoutes(app: FastifyInstance, ctx: AdminPageDeps): void {
  const revocations = new Revocations(ctx)

  app.get<{ Querystring: { revoked?: string } }>('/admin', async (request, reply) => {
    const page = await signedInWithRole(ctx, request, reply, 'admin')
    if (!page) return reply
    const rows = await ctx.store.admin.listSessions({ now: ctx.now(), includeEnded: false, limit: 1000 })
    const live = ctx.tunnels.list()
    const sessions: SessionLine[] = rows.map((row) => ({
      id: row.id, user: row.identity.email, kind: row.grant === 'web' ? 'browser' : 'command line', createdAt: minute(row.createdAt), expiresAt: minute(row.expiresAt),
      connections: live.filter((tunnel) => tunnel.sessionId === row.id).map((tunnel) => {
        const { up, down } = tunnel.bytes()
        return { kind: tunnel.kind, host: tunnel.host, since: minute(tunnel.openedAt), bytesUp: up, bytesDown: down }
      }),
    }))
    const revoked = typeof request.query.revoked === 'string' && /^\d{1,6}$/.test(request.query.revoked) ? Number(request.query.revoked) : undefined
    return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderSessionsPage({
      nav: page.nav, csrfToken: ctx.browser.csrfToken(request, reply), sessions,
      ...(revoked === undefined ? {} : { notice: `Revoked ${revoked} session${revoked === 1 ? '' : 's'}.` }),
    }))
  })

  app.post<{ Body: { csrf_token?: unknown; session_id?: unknown; user?: unknown } }>('/admin/revoke', async (request, reply) => {
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
    const page = await signedInWithRole(ctx, request, reply, 'admin')
    if (!page) return reply
    const form = request.body ?? {}
    if (!ctx.browser.verifyCsrf(request, form.csrf_token) || !fromOwnOrigin(request, ctx.publicUrl(), false)) {
      return reply.code(403).send(renderMessagePage('Form expired', 'The form was stale or not sent from this site. Go back, reload the page and try again.', { error: true }))
    }
    try {
      const admin = { session: await ctx.sessions.forBrowser(page.signedIn, { clientIp: request.ip, userAgent: request.headers['user-agent']?.slice(0, 300) ?? null }) }
      if ((form.session_id === undefined) === (form.user === undefined)) throw new JitsshError('ERR_BAD_REQUEST', 'give exactly one of session_id and user')
      const result = form.session_id !== undefined
        ? await revocations.revokeSession(form.session_id, admin, null)
        : await revocations.revokeUser(await resolveUserEmail(ctx, form.user), admin, null)
      return reply.code(303).header('location', `/admin?revoked=${result.revoked_sessions.length}`).send()
    } catch (error) {
      if (!isJitsshError(error)) throw error
      return reply.code(400).send(renderMessagePage('Not revoked', `${error.message}.`, { error: true }))
    }
  })

  app.get<{ Querystring: AuditSearchParams }>('/admin/audit', async (request, reply) => {
    const page = await signedInWithRole(ctx, request, reply, 'admin')
    if (!page) return reply
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
    const { query } = request
    const filters = filterValues(query, AUDIT_FILTER_NAMES)
    try {
      const found = await searchAuditPage(ctx, await parseAuditSearch(ctx, { ...query, limit: '100' }))
      const next = found.next_cursor === null ? null : `/admin/audit?${new URLSearchParams({ ...Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== '')), cursor: found.next_cursor })}`
      return reply.send(renderAuditPage({ nav: page.nav, filters, events: found.events, next }))
    } catch (error) {
      if (!isJitsshError(error)) throw error
      return reply.code(400).send(renderAuditPage({ nav: page.nav, filters, events: [], next: null, error: `${error.message}.` }))
    }
  })
}
