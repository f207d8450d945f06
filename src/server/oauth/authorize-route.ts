import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CLIENT_ID } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { loginUrl } from '../identity/return-to.js'
import { PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import { isValidCodeChallenge } from './pkce.js'
import { isAllowedRedirectUri } from './redirect-uri.js'
import { randomToken, sha256Hex } from './secrets.js'

export type AuthorizeRouteDeps = Uses<'browser' | 'config' | 'now' | 'publicUrl', 'oauth'>

interface AuthorizeQuery {
  response_type?: string
  client_id?: string
  redirect_uri?: string
  code_challenge?: string
  code_challenge_method?: string
  state?: string
  scope?: string
}

/** Errors that must not redirect (the redirect target itself is in doubt): JSON, or a page for a browser. */
function refuse(request: FastifyRequest, reply: FastifyReply, description: string): FastifyReply {
  reply.code(400)
  if ((request.headers.accept ?? '').includes('text/html')) {
    return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
      .send(renderMessagePage('Sign-in request rejected', description, { error: true }))
  }
  return reply.send({ error: 'invalid_request', error_description: description })
}

/**
 * `GET /authorize`: authorization code with PKCE S256 for the public client jitssh-cli only. The person
 * signs in first (browser session); a first-party client needs no consent page.
 */
export function registerAuthorizeRoute(app: FastifyInstance, ctx: AuthorizeRouteDeps): void {
  app.get<{ Querystring: AuthorizeQuery }>('/authorize', async (request, reply) => {
    const q = request.query
    for (const key of Object.keys(q) as Array<keyof AuthorizeQuery>) {
      if (Array.isArray(q[key])) return refuse(request, reply, `parameter ${key} given more than once`)
    }
    if (q.client_id !== CLIENT_ID) return refuse(request, reply, `unknown client_id (only ${CLIENT_ID} is registered)`)
    const redirectUri = q.redirect_uri ?? ''
    if (!isAllowedRedirectUri(redirectUri)) {
      return refuse(request, reply, 'redirect_uri must be http://127.0.0.1:<port>/callback or http://[::1]:<port>/callback')
    }
    const state = q.state
    const back = (params: Record<string, string>): FastifyReply => {
      const target = new URL(redirectUri)
      for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value)
      if (state !== undefined) target.searchParams.set('state', state)
      target.searchParams.set('iss', ctx.publicUrl())
      return reply.code(302).header('location', target.toString()).send()
    }
    if (state !== undefined && state.length > 512) return back({ error: 'invalid_request', error_description: 'state is too long' })
    if (q.response_type !== 'code') return back({ error: 'unsupported_response_type', error_description: 'only response_type=code is supported' })
    if (q.code_challenge_method !== 'S256') {
      return back({ error: 'invalid_request', error_description: 'PKCE is required: code_challenge_method must be S256' })
    }
    if (!q.code_challenge || !isValidCodeChallenge(q.code_challenge)) {
      return back({ error: 'invalid_request', error_description: 'code_challenge must be the base64url SHA-256 of the code verifier' })
    }

    const identity = await ctx.browser.current(request)
    if (!identity) return reply.code(302).header('location', loginUrl(request.url)).send()

    const code = randomToken(32)
    const now = ctx.now()
    await ctx.store.oauth.insertAuthCode({
      codeHash: sha256Hex(code),
      clientId: CLIENT_ID,
      redirectUri,
      codeChallenge: q.code_challenge,
      identity,
      createdAt: now,
      expiresAt: now + ctx.config.oauth.codeTtlMs,
      usedAt: null,
      sessionId: null,
    })
    return back({ code })
  })
}
