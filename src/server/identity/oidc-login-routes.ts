import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { Uses } from '../context.js'
import { OIDC_LOGIN_PATH, safeReturnTo } from './return-to.js'
import { parseCookies, serializeCookie } from '../http/cookies.js'
import { randomToken, sha256Hex } from '../oauth/secrets.js'
import { PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import type { OidcRevalidation } from './oidc-revalidation.js'
import type { OidcUpstream } from './oidc-upstream.js'
import { accountDisabledReason, refuseWaitingLogin } from '../oauth/refused-login.js'

export type OidcLoginDeps = Uses<'audit' | 'browser' | 'config' | 'now' | 'publicUrl' | 'unauthenticated', 'oauth' | 'users'>

/** Where the upstream provider sends the browser back; register `<public_url>/oidc/callback` there. */
export const OIDC_CALLBACK_PATH = '/oidc/callback'
const PENDING_MS = 10 * 60_000

/**
 * `GET /login/sso` → the upstream provider (also `GET /login` when there are no local users: then the
 * provider is the only way in); `GET /oidc/callback` → a browser session, then back to return_to.
 */
export function registerOidcLoginRoutes(app: FastifyInstance, ctx: OidcLoginDeps, oidc: { upstream: OidcUpstream; revalidation: OidcRevalidation; issuer: string }): void {
  const { upstream } = oidc
  const cookieName = ctx.publicUrl().startsWith('https:') ? '__Host-jitssh_oidc' : 'jitssh_oidc'
  const secure = ctx.publicUrl().startsWith('https:')

  const perMinute = { config: { rateLimit: { max: ctx.config.rateLimits.loginPostsPerMinute, timeWindow: 60_000 } } }

  const begin = async (request: FastifyRequest<{ Querystring: { return_to?: string } }>, reply: FastifyReply): Promise<FastifyReply> => {
    const returnTo = safeReturnTo(request.query.return_to)
    // A step-up (/authorize?...&prompt=login) asks the provider for a fresh authentication too.
    const begun = await upstream.begin(`${ctx.publicUrl()}${OIDC_CALLBACK_PATH}`, /[?&]prompt=login(&|$)/.test(returnTo))
    const id = randomToken(32)
    await ctx.store.oauth.insertOidcLogin({
      idHash: sha256Hex(id), state: begun.state, nonce: begun.nonce, codeVerifier: begun.codeVerifier,
      returnTo, expiresAt: ctx.now() + PENDING_MS,
    })
    reply.header('set-cookie', serializeCookie(cookieName, id, { secure, maxAgeSeconds: PENDING_MS / 1000 }))
    return reply.code(302).header('location', begun.url).send()
  }
  app.get<{ Querystring: { return_to?: string } }>(OIDC_LOGIN_PATH, perMinute, begin)
  if (!ctx.config.identity.local) app.get<{ Querystring: { return_to?: string } }>('/login', perMinute, begin)

  app.get(OIDC_CALLBACK_PATH, perMinute, async (request, reply) => {
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
    const id = parseCookies(request.headers.cookie).get(cookieName)
    const pending = id ? await ctx.store.oauth.takeOidcLogin(sha256Hex(id), ctx.now()) : undefined
    reply.header('set-cookie', serializeCookie(cookieName, '', { secure, maxAgeSeconds: 0 }))
    if (!pending) {
      return reply.code(400).send(renderMessagePage('Sign-in expired', 'This sign-in was not started here or took too long. Start again from your terminal.', { error: true }))
    }
    try {
      const login = await upstream.finish(new URL(request.url, ctx.publicUrl()), pending)
      const { identity } = login
      if (await ctx.store.users.isDisabled(identity.email)) {
        await ctx.audit.record({ type: 'login', outcome: 'denied', user: identity.email, detail: { method: 'oidc', reason: 'user_disabled', ip: request.ip } })
        const refusedAuth = { time: login.authTime, method: 'oidc' as const }
        const back = await refuseWaitingLogin(ctx, pending.returnTo, identity, refusedAuth, accountDisabledReason(identity.email))
        if (back !== null) return reply.code(303).header('location', back).send()
        return reply.code(403).send(renderMessagePage('Account disabled', `${identity.email} has been disabled by an administrator of this server.`, { error: true }))
      }
      const upstreamId = await oidc.revalidation.keep(login)
      const auth = { time: login.authTime, method: 'oidc' as const, upstreamId, ...(login.amr ? { amr: login.amr } : {}), ...(login.acr ? { acr: login.acr } : {}) }
      await ctx.browser.start(request, reply, identity, auth, pending.returnTo)
      await ctx.audit.record({ type: 'login', outcome: 'ok', user: identity.email, detail: { method: 'oidc', issuer: oidc.issuer, ip: request.ip, user_agent: request.headers['user-agent'] ?? null } })
      return reply.code(303).header('location', pending.returnTo).send()
    } catch (error) {
      const reason = error instanceof JitsshError ? error.message : 'the identity provider response was not valid'
      request.log.warn({ err: error }, 'upstream OIDC login failed')
      // No identity came back: the caller is anyone, so the event is budgeted.
      await ctx.unauthenticated.record('login', request, { type: 'login', outcome: 'denied', detail: { method: 'oidc', reason, ip: request.ip } }, 'unknown')
      return reply.code(401).send(renderMessagePage('Sign-in failed', reason, { error: true }))
    }
  })
}
