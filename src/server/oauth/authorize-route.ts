import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CLIENT_ID } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { loginUrl } from '../identity/return-to.js'
import type { SignedIn } from '../identity/browser-session.js'
import { renderAuthorizeConfirmPage } from '../pages/authorize-page.js'
import { PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import { isValidCodeChallenge } from './pkce.js'
import { isAllowedRedirectUri } from './redirect-uri.js'
import { randomToken, sha256Hex } from './secrets.js'

export type AuthorizeRouteDeps = Uses<'browser' | 'config' | 'now' | 'publicUrl', 'oauth'>

/** The parameters of an authorization request (query of GET, form of the confirmation POST). */
const PARAMETERS = ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'prompt'] as const
type AuthorizeParams = Partial<Record<(typeof PARAMETERS)[number], string>>

interface ConfirmForm extends AuthorizeParams {
  csrf_token?: unknown
  action?: unknown
}

/** Errors that must not redirect (the redirect target itself is in doubt): JSON, or a page for a browser. */
function refuse(request: FastifyRequest, reply: FastifyReply, description: string): FastifyReply {
  reply.code(400)
  if ((request.headers.accept ?? '').includes('text/html')) {
    return html(reply).send(renderMessagePage('Sign-in request rejected', description, { error: true }))
  }
  return reply.send({ error: 'invalid_request', error_description: description })
}

function html(reply: FastifyReply): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
}

/**
 * `GET /authorize`: authorization code with PKCE S256 for the public client jitssh-cli only, to a loopback
 * redirect (RFC 8252). The person signs in first (browser session). If they did not sign in for this very
 * request, a page asks them to confirm (RFC 8252 §8.6: any program on the machine can open this URL and
 * listen on a loopback port); `POST /authorize` is that page's answer (CSRF-checked).
 */
export function registerAuthorizeRoute(app: FastifyInstance, ctx: AuthorizeRouteDeps): void {
  /** The validated request, or the reply already sent (a refusal, or an error back to the client). */
  function validate(request: FastifyRequest, reply: FastifyReply, raw: Record<string, unknown>): { params: AuthorizeParams; back: (params: Record<string, string>) => FastifyReply } | FastifyReply {
    for (const key of PARAMETERS) {
      if (raw[key] !== undefined && typeof raw[key] !== 'string') return refuse(request, reply, `parameter ${key} given more than once`)
    }
    const q = raw as AuthorizeParams
    if (q.client_id !== CLIENT_ID) return refuse(request, reply, `unknown client_id (only ${CLIENT_ID} is registered)`)
    const redirectUri = q.redirect_uri ?? ''
    if (!isAllowedRedirectUri(redirectUri)) {
      return refuse(request, reply, 'redirect_uri must be http://127.0.0.1:<port>/callback or http://[::1]:<port>/callback')
    }
    const back = (params: Record<string, string>): FastifyReply => {
      const target = new URL(redirectUri)
      for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value)
      if (q.state !== undefined) target.searchParams.set('state', q.state)
      target.searchParams.set('iss', ctx.publicUrl())
      return reply.code(302).header('location', target.toString()).send()
    }
    if (q.state !== undefined && q.state.length > 512) return back({ error: 'invalid_request', error_description: 'state is too long' })
    if (q.response_type !== 'code') return back({ error: 'unsupported_response_type', error_description: 'only response_type=code is supported' })
    if (q.code_challenge_method !== 'S256') {
      return back({ error: 'invalid_request', error_description: 'PKCE is required: code_challenge_method must be S256' })
    }
    if (!q.code_challenge || !isValidCodeChallenge(q.code_challenge)) {
      return back({ error: 'invalid_request', error_description: 'code_challenge must be the base64url SHA-256 of the code verifier' })
    }
    if (q.prompt !== undefined && q.prompt !== 'login') return back({ error: 'invalid_request', error_description: 'prompt may only be "login"' })
    return { params: q, back }
  }

  async function issueCode(signedIn: SignedIn, params: AuthorizeParams, back: (params: Record<string, string>) => FastifyReply): Promise<FastifyReply> {
    const code = randomToken(32)
    const now = ctx.now()
    await ctx.store.oauth.insertAuthCode({
      codeHash: sha256Hex(code),
      clientId: CLIENT_ID,
      redirectUri: params.redirect_uri!,
      codeChallenge: params.code_challenge!,
      identity: signedIn.identity,
      auth: signedIn.auth,
      createdAt: now,
      expiresAt: now + ctx.config.oauth.codeTtlMs,
      usedAt: null,
      sessionId: null,
    })
    return back({ code })
  }

  app.get<{ Querystring: Record<string, unknown> }>('/authorize', async (request, reply) => {
    const valid = validate(request, reply, request.query)
    if (!('params' in valid)) return valid
    const signedIn = await ctx.browser.current(request)
    if (!signedIn) return reply.code(302).header('location', loginUrl(request.url)).send()
    if (await ctx.browser.justSignedInFor(signedIn, request.url)) return issueCode(signedIn, valid.params, valid.back)
    // prompt=login (a step-up: `jitssh login --force`): a sign-in for this very request, whatever the browser has.
    if (valid.params.prompt === 'login') return reply.code(302).header('location', loginUrl(request.url)).send()
    return html(reply).send(renderAuthorizeConfirmPage({
      csrfToken: ctx.browser.csrfToken(request, reply),
      params: Object.fromEntries(PARAMETERS.flatMap((key) => (valid.params[key] === undefined ? [] : [[key, valid.params[key]!]]))),
      signedInAs: signedIn.identity.email,
      redirect: new URL(valid.params.redirect_uri!).host,
      sessionHours: Math.round(ctx.config.sessions.lifetimeMs / 3_600_000),
    }))
  })

  app.post<{ Body: ConfirmForm }>('/authorize', async (request, reply) => {
    const form = request.body ?? {}
    if (!ctx.browser.verifyCsrf(request, form.csrf_token)) {
      return html(reply).code(403).send(renderMessagePage('Form expired', 'The form was stale or not sent from this site. Start again from your terminal: jitssh login.', { error: true }))
    }
    const valid = validate(request, reply, Object.fromEntries(PARAMETERS.map((key) => [key, form[key]])))
    if (!('params' in valid)) return valid
    const signedIn = await ctx.browser.current(request)
    if (!signedIn) return html(reply).code(401).send(renderMessagePage('Signed out', 'You are no longer signed in. Start again from your terminal: jitssh login.', { error: true }))
    if (form.action !== 'allow') return valid.back({ error: 'access_denied', error_description: 'the person declined the sign-in in the browser' })
    return issueCode(signedIn, valid.params, valid.back)
  })
}
