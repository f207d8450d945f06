import type { FastifyRequest } from 'fastify'
import { isJitsshError } from '../../shared/errors.js'
import type { TokenResponse } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { OAuthError } from '../http/errors.js'
import type { TokenParams } from './grant-authorization-code.js'
import { sha256Hex } from './secrets.js'
import { issueTokenResponse } from './token-issuer.js'

export type RefreshGrantDeps = Uses<'audit' | 'now' | 'sessions' | 'accessTokens' | 'unauthenticated', 'oauth' | 'sessions'>

/**
 * `grant_type=refresh_token`: one use each. A second use of the same token means it leaked (or a client
 * bug): the whole session is revoked and the event audited.
 */
export async function rotateRefreshToken(ctx: RefreshGrantDeps, params: TokenParams, request: FastifyRequest): Promise<TokenResponse> {
  const presented = params.refresh_token
  if (!presented) throw new OAuthError('invalid_request', 'refresh_token is required')
  const tokenHash = sha256Hex(presented)
  const row = await ctx.store.oauth.getRefreshToken(tokenHash)
  // Until the token checks out the caller has not authenticated: its events are budgeted.
  if (!row) {
    await ctx.unauthenticated.record('token', request, { type: 'token.denied', outcome: 'denied', detail: { grant: 'refresh_token', reason: 'unknown refresh token', ip: request.ip } }, 'unknown')
    throw new OAuthError('invalid_grant', 'refresh token is not valid')
  }
  const reuse = async (): Promise<never> => {
    const session = await ctx.store.sessions.get(row.sessionId)
    await ctx.unauthenticated.record('token', request, {
      type: 'token.refresh_reuse', outcome: 'denied', user: session?.identity.email ?? null, sessionId: row.sessionId,
      detail: { ip: request.ip, user_agent: request.headers['user-agent'] ?? null },
    }, 'account')
    await ctx.sessions.revoke(row.sessionId, 'refresh token reused', { user: session?.identity.email ?? null })
    throw new OAuthError('invalid_grant', 'refresh token was already used; the session has been revoked')
  }
  if (row.usedAt !== null) return reuse()

  let session
  try {
    session = await ctx.sessions.requireActive(row.sessionId)
  } catch (error) {
    if (!isJitsshError(error)) throw error
    await ctx.unauthenticated.record('token', request, { type: 'token.denied', outcome: 'denied', sessionId: row.sessionId, detail: { grant: 'refresh_token', reason: error.message, ip: request.ip } }, 'account')
    throw new OAuthError('invalid_grant', error.message)
  }
  if (!(await ctx.store.oauth.markRefreshTokenUsed(tokenHash, ctx.now()))) return reuse()

  const response = await issueTokenResponse(ctx, session, params.client_id ?? '')
  await ctx.audit.record({ type: 'token.refresh', outcome: 'ok', user: session.identity.email, sessionId: session.id, detail: { ip: request.ip } })
  return response
}
