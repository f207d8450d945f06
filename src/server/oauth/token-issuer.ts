import type { TokenResponse } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import type { SessionRow } from '../store/store.js'
import { randomToken, sha256Hex } from './secrets.js'

export type TokenIssuerDeps = Uses<'accessTokens' | 'now', 'oauth'>

/** A new refresh token (stored only as its hash, ending with the session) and a new access token. */
export async function issueTokenResponse(ctx: TokenIssuerDeps, session: SessionRow, clientId: string): Promise<TokenResponse> {
  const refreshToken = randomToken(32)
  await ctx.store.oauth.insertRefreshToken({
    tokenHash: sha256Hex(refreshToken),
    sessionId: session.id,
    createdAt: ctx.now(),
    expiresAt: session.expiresAt,
    usedAt: null,
  })
  const access = await ctx.accessTokens.issue(session, clientId)
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    refresh_token: refreshToken,
    session_expires_at: new Date(session.expiresAt).toISOString(),
  }
}
