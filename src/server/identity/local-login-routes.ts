import type { FastifyInstance } from 'fastify'
import type { Uses } from '../context.js'
import { typedName } from '../http/request-fields.js'
import { OIDC_LOGIN_PATH, safeReturnTo } from './return-to.js'
import { LOGIN_PAGE_CSP } from '../pages/html.js'
import { renderLoginPage, renderMessagePage } from '../pages/login-page.js'
import { authenticateLocalUser, findLocalUser } from './local-users.js'
import type { ServerConfig } from '../config/types.js'
import { accountDisabledReason, refuseWaitingLogin } from '../oauth/refused-login.js'

export type LocalLoginDeps = Uses<'audit' | 'browser' | 'config' | 'knownDevices' | 'now' | 'publicUrl' | 'throttle' | 'unauthenticated', 'oauth' | 'users'>

interface LoginForm {
  username?: unknown
  password?: unknown
  csrf_token?: unknown
  return_to?: unknown
}

/** `GET /login` shows the form; `POST /login` checks CSRF, rate limits and the password, then redirects. */
export function registerLocalLoginRoutes(app: FastifyInstance, ctx: LocalLoginDeps): void {
  app.get<{ Querystring: { return_to?: string } }>('/login', async (request, reply) => {
    const csrfToken = ctx.browser.csrfToken(request, reply)
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', LOGIN_PAGE_CSP)
      .send(renderLoginPage({ csrfToken, returnTo: safeReturnTo(request.query.return_to), ...sso(ctx.config) }))
  })

  app.post<{ Body: LoginForm }>(
    '/login',
    { config: { rateLimit: { max: ctx.config.rateLimits.loginPostsPerMinute, timeWindow: 60_000 } } },
    async (request, reply) => {
      const form = request.body ?? {}
      const returnTo = safeReturnTo(form.return_to)
      // Counted, audited and shown as typed, but never with a byte the store cannot keep (a NUL) or a terminal would act on.
      const username = typedName(form.username)
      const password = typeof form.password === 'string' ? form.password.slice(0, 1024) : ''
      reply.type('text/html; charset=utf-8').header('content-security-policy', LOGIN_PAGE_CSP)
      // Until the password checks out, the caller is anyone: their failures are budgeted (a real user's first).
      const refused = (reason: string): Promise<void> =>
        ctx.unauthenticated.record('login', request, { type: 'login', outcome: 'denied', user: username || null, detail: { reason, ip: request.ip } }, isKnownUser(ctx.config, username) ? 'account' : 'unknown')

      if (!ctx.browser.verifyCsrf(request, form.csrf_token)) {
        await refused('csrf')
        return reply.code(403).send(renderMessagePage('Sign-in form expired', 'The form was stale or not sent from this site. Go back, reload the page and sign in again.', { error: true }))
      }
      const again = (status: number, error: string): unknown => {
        const csrfToken = ctx.browser.csrfToken(request, reply)
        return reply.code(status).send(renderLoginPage({ csrfToken, returnTo, username, error, ...sso(ctx.config) }))
      }
      const reserved = await ctx.throttle.reserve(username, request.ip, ctx.knownDevices.knows(request, username))
      if ('refusal' in reserved) {
        await refused('rate_limited')
        return again(429, reserved.refusal)
      }
      const { identity } = ctx.config
      const who = username && password && identity.local ? await authenticateLocalUser(identity.local, username, password) : undefined
      if (!who) {
        await refused('bad_credentials')
        return again(401, 'Wrong username or password.')
      }
      await ctx.throttle.succeeded(reserved.attempt)
      ctx.knownDevices.remember(reply, who.sub)
      if (await ctx.store.users.isDisabled(who.email)) {
        await ctx.audit.record({ type: 'login', outcome: 'denied', user: who.email, detail: { reason: 'user_disabled', ip: request.ip } })
        // The CLI waiting on this sign-in hears it at once, instead of polling or listening until it gives up.
        const back = await refuseWaitingLogin(ctx, returnTo, who, { time: ctx.now(), method: 'password' }, accountDisabledReason(who.email))
        if (back !== null) return reply.code(303).header('location', back).send()
        return again(403, 'This account has been disabled by an administrator of this server.')
      }
      await ctx.browser.start(request, reply, who, { time: ctx.now(), method: 'password' }, returnTo)
      await ctx.audit.record({ type: 'login', outcome: 'ok', user: who.email, detail: { method: 'local', ip: request.ip, user_agent: request.headers['user-agent'] ?? null } })
      return reply.code(303).header('location', returnTo).send()
    },
  )
}

/** Beside an identity provider, the page offers it first (local accounts are the exception, e.g. break-glass). */
function sso(config: ServerConfig): { sso?: { path: string; provider: string } } {
  if (!config.identity.oidc) return {}
  return { sso: { path: OIDC_LOGIN_PATH, provider: new URL(config.identity.oidc.issuer).host } }
}

function isKnownUser(config: ServerConfig, username: string): boolean {
  return config.identity.local !== undefined && findLocalUser(config.identity.local, username) !== undefined
}
