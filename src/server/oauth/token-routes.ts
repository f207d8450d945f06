import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isJitsshError, type ErrorCode } from '../../shared/errors.js'
import { CLIENT_ID, type TokenResponse } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { OAuthError } from '../http/errors.js'
import { exchangeAuthorizationCode, type TokenParams } from './grant-authorization-code.js'
import { pollDeviceCode, startDeviceAuthorization } from './grant-device-code.js'
import { rotateRefreshToken } from './grant-refresh-token.js'
import { DEVICE_CODE_GRANT } from './grant-types.js'
import { sha256Hex } from './secrets.js'

export type TokenRouteDeps = Uses<'accessTokens' | 'audit' | 'config' | 'now' | 'publicUrl' | 'sessions' | 'unauthenticated', 'oauth' | 'sessions' | 'users'>

/** Domain refusals that the token endpoint reports as RFC 6749 `invalid_grant`. */
const REFUSALS = new Set<ErrorCode>(['ERR_LOGIN_DENIED', 'ERR_NOT_LOGGED_IN', 'ERR_SESSION_REVOKED'])


/** Form parameters, each at most once (RFC 6749 §3.1), from an application/x-www-form-urlencoded body. */
function formParams(request: FastifyRequest): TokenParams {
  if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded')
  }
  const body = (request.body ?? {}) as Record<string, unknown>
  const params: TokenParams = {}
  for (const [key, value] of Object.entries(body)) {
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `parameter ${key} given more than once`)
    params[key] = value
  }
  return params
}

function requireClient(params: TokenParams): string {
  if (params.client_id !== CLIENT_ID) throw new OAuthError('invalid_client', `unknown client_id (only ${CLIENT_ID} is registered)`, 401)
  return CLIENT_ID
}

export function registerTokenRoutes(app: FastifyInstance, ctx: TokenRouteDeps): void {
  const limits = ctx.config.rateLimits

  app.post('/token', { config: { rateLimit: { max: limits.tokenPerMinute, timeWindow: 60_000 } } }, async (request, reply) => {
    const params = formParams(request)
    requireClient(params)
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    return grant(params, request).catch((error: unknown) => {
      // A refusal of the person (disabled, unknown, session ended) is an OAuth invalid_grant here.
      if (isJitsshError(error) && REFUSALS.has(error.code)) throw new OAuthError('invalid_grant', error.message)
      throw error
    })
  })

  function grant(params: TokenParams, request: FastifyRequest): Promise<TokenResponse> {
    switch (params.grant_type) {
      case 'authorization_code':
        return exchangeAuthorizationCode(ctx, params, request)
      case 'refresh_token':
        return rotateRefreshToken(ctx, params, request)
      case DEVICE_CODE_GRANT:
        return pollDeviceCode(ctx, params, request)
      case undefined:
        throw new OAuthError('invalid_request', 'grant_type is required')
      default:
        throw new OAuthError('unsupported_grant_type', `grant_type ${params.grant_type} is not supported`)
    }
  }

  app.post(
    '/device_authorization',
    { config: { rateLimit: { max: limits.deviceAuthorizationPerMinute, timeWindow: 60_000 } } },
    async (request, reply) => {
      const params = formParams(request)
      const clientId = requireClient(params)
      reply.header('cache-control', 'no-store')
      return startDeviceAuthorization(ctx, clientId, request)
    },
  )

  /** RFC 7009: revoking a refresh token (or an access token) ends the whole session. Unknown tokens: 200 too. */
  app.post('/revoke', { config: { rateLimit: { max: limits.tokenPerMinute, timeWindow: 60_000 } } }, async (request, reply) => {
    const params = formParams(request)
    if (params.client_id !== undefined) requireClient(params)
    if (!params.token) throw new OAuthError('invalid_request', 'token is required')
    let sessionId: string | undefined
    const refresh = await ctx.store.oauth.getRefreshToken(sha256Hex(params.token))
    if (refresh) sessionId = refresh.sessionId
    else if (params.token.split('.').length === 3) {
      sessionId = await ctx.accessTokens.verify(params.token).then((claims) => claims.sid, () => undefined)
    }
    if (sessionId) {
      const session = await ctx.store.sessions.get(sessionId)
      const user = session?.identity.email ?? null
      await ctx.sessions.revoke(sessionId, 'logout', { user, detail: { ip: request.ip, via: 'revocation_endpoint' } })
    }
    return reply.code(200).header('cache-control', 'no-store').send()
  })
}
