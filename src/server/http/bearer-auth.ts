import type { FastifyRequest } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { ServerContext } from '../context.js'
import type { AccessTokenClaims } from '../oauth/access-token.js'
import type { SessionRow } from '../store/store.js'

export interface Authenticated {
  claims: AccessTokenClaims
  session: SessionRow
}

/** `Authorization: Bearer <jwt>` → verified claims and a live session; a 401 JitsshError otherwise. */
export async function authenticateBearer(ctx: Pick<ServerContext, 'accessTokens' | 'sessions'>, request: FastifyRequest): Promise<Authenticated> {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(header) : null
  if (!match) throw new JitsshError('ERR_NOT_LOGGED_IN', 'no access token in the request', { hint: 'run: jitssh login' })
  const claims = await ctx.accessTokens.verify(match[1]!)
  const session = await ctx.sessions.requireActive(claims.sid)
  if (session.identity.sub !== claims.sub) throw new JitsshError('ERR_NOT_LOGGED_IN', 'access token does not belong to its session')
  return { claims, session }
}
