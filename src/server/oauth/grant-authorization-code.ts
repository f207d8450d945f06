import type { FastifyRequest } from 'fastify'
import type { TokenResponse } from '../../shared/protocol.js'
import type { EventSubject } from '../audit/audit-budget.js'
import type { Uses } from '../context.js'
import { OAuthError } from '../http/errors.js'
import { isValidCodeVerifier, verifyPkceS256 } from './pkce.js'
import { sha256Hex } from './secrets.js'
import { issueTokenResponse } from './token-issuer.js'

export type CodeGrantDeps = Uses<'audit' | 'now' | 'sessions' | 'accessTokens' | 'unauthenticated', 'oauth'>

export type TokenParams = Record<string, string | undefined>

/**
 * `grant_type=authorization_code`: the code is single-use (a replay revokes the session it created),
 * short-lived, and bound to the client, the redirect_uri and the PKCE challenge.
 */
export async function exchangeAuthorizationCode(ctx: CodeGrantDeps, params: TokenParams, request: FastifyRequest): Promise<TokenResponse> {
  const { code, redirect_uri: redirectUri, code_verifier: verifier, client_id: clientId } = params
  if (!code) throw new OAuthError('invalid_request', 'code is required')
  if (!redirectUri) throw new OAuthError('invalid_request', 'redirect_uri is required')
  if (!verifier) throw new OAuthError('invalid_request', 'code_verifier is required (PKCE)')
  if (!isValidCodeVerifier(verifier)) throw new OAuthError('invalid_request', 'code_verifier must be 43-128 unreserved characters')

  const now = ctx.now()
  // The caller has not authenticated: its events are budgeted (a code we never issued is about nobody).
  const denied = async (reason: string, detail: Record<string, unknown> = {}, subject: EventSubject = 'account'): Promise<never> => {
    await ctx.unauthenticated.record('token', request, { type: 'token.denied', outcome: 'denied', detail: { grant: 'authorization_code', reason, ip: request.ip, ...detail } }, subject)
    throw new OAuthError('invalid_grant', reason)
  }

  const consumed = await ctx.store.oauth.consumeAuthCode(sha256Hex(code), now)
  if (!consumed) return denied('authorization code is not valid', {}, 'unknown')
  const { row, firstUse } = consumed
  if (!firstUse) {
    if (row.sessionId) await ctx.sessions.revoke(row.sessionId, 'authorization code replayed', { user: row.identity.email })
    const reuse = { type: 'token.code_reuse', outcome: 'denied', user: row.identity.email, sessionId: row.sessionId, detail: { ip: request.ip } } as const
    await ctx.unauthenticated.record('token', request, reuse, 'account')
    throw new OAuthError('invalid_grant', 'authorization code was already used')
  }
  if (row.expiresAt <= now) return denied('authorization code has expired', { user: row.identity.email })
  if (row.clientId !== clientId) return denied('authorization code was issued to another client')
  if (row.redirectUri !== redirectUri) return denied('redirect_uri does not match the one in the authorization request')
  if (!verifyPkceS256(verifier, row.codeChallenge)) return denied('PKCE verification failed: code_verifier does not match code_challenge')

  const session = await ctx.sessions.create(row.identity, row.auth, {
    grant: 'authorization_code',
    clientIp: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
  })
  await ctx.store.oauth.attachSessionToAuthCode(row.codeHash, session.id)
  const response = await issueTokenResponse(ctx, session, row.clientId)
  await ctx.audit.record({
    type: 'token.issue', outcome: 'ok', user: row.identity.email, sessionId: session.id,
    detail: { grant: 'authorization_code', ip: request.ip, expires_at: new Date(session.expiresAt).toISOString() },
  })
  return response
}
