import type { FastifyInstance } from 'fastify'
import type { Uses } from '../context.js'
import { renderLogoutPage } from '../pages/authorize-page.js'
import { PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import { browserSessionId } from '../sessions/browser-session-id.js'

export type LogoutDeps = Uses<'browser' | 'sessions'>

/**
 * `GET /logout` shows a sign-out form; `POST /logout` (CSRF-checked) ends this browser's session, and with it
 * the server-side session its terminals run under (revoked: they close at once, here and on other replicas).
 */
export function registerLogoutRoutes(app: FastifyInstance, ctx: LogoutDeps): void {
  app.get('/logout', async (request, reply) => {
    const signedIn = await ctx.browser.current(request)
    const csrfToken = ctx.browser.csrfToken(request, reply)
    return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
      .send(renderLogoutPage({ csrfToken, signedInAs: signedIn?.identity.email ?? null }))
  })

  app.post<{ Body: { csrf_token?: unknown } }>('/logout', async (request, reply) => {
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
    if (!ctx.browser.verifyCsrf(request, request.body?.csrf_token)) {
      return reply.code(403).send(renderMessagePage('Form expired', 'The form was stale or not sent from this site. Reload the page and try again.', { error: true }))
    }
    const signedIn = await ctx.browser.current(request)
    const idHash = await ctx.browser.end(request, reply)
    if (idHash) await ctx.sessions.revoke(browserSessionId(idHash), 'signed out', { user: signedIn?.identity.email ?? null })
    return reply.send(renderLogoutPage({ csrfToken: '', signedInAs: null, done: true }))
  })
}
