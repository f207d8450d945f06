import type { FastifyInstance } from 'fastify'
import { CLIENT_ID, type DiscoveryDocument, type WhoAmI } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { isAdmin } from '../admin/admins.js'
import { GRANT_TYPES } from '../oauth/grant-types.js'
import { authenticateBearer } from './bearer-auth.js'

export type DiscoveryDeps = Uses<'accessTokens' | 'config' | 'keys' | 'now' | 'publicUrl' | 'sessions', 'ping'>

export function discoveryDocument(ctx: DiscoveryDeps): DiscoveryDocument & { authorization_response_iss_parameter_supported: boolean; revocation_endpoint_auth_methods_supported: string[]; token_endpoint_auth_signing_alg_values_supported: string[] } {
  const base = ctx.publicUrl()
  return {
    issuer: base,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    device_authorization_endpoint: `${base}/device_authorization`,
    revocation_endpoint: `${base}/revoke`,
    jwks_uri: `${base}/jwks`,
    userinfo_endpoint: `${base}/v1/me`,
    response_types_supported: ['code'],
    grant_types_supported: GRANT_TYPES,
    code_challenge_methods_supported: ['S256'],
    // none: the CLI (jitssh-cli); the rest: service account clients of the client-credentials grant.
    token_endpoint_auth_methods_supported: ['none', 'private_key_jwt', 'client_secret_basic', 'client_secret_post'],
    token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
    revocation_endpoint_auth_methods_supported: ['none'],
    authorization_response_iss_parameter_supported: true,
    jitssh: {
      version: 1,
      client_id: CLIENT_ID,
      sign_endpoint: `${base}/v1/ssh/sign`,
      tunnel_endpoint: `${base.replace(/^http/, 'ws')}/v1/tunnel`,
      krl_endpoint: `${base}/v1/ssh/krl`,
      admin_endpoint: `${base}/v1/admin`,
      user_ca_public_key: ctx.keys.userCaLine,
      host_ca_public_key: ctx.keys.hostCaLine,
    },
  }
}

/** Discovery, JWKS, who-am-I and health. */
export function registerDiscoveryRoutes(app: FastifyInstance, ctx: DiscoveryDeps): void {
  const sendDiscovery = async (): Promise<DiscoveryDocument> => discoveryDocument(ctx)
  app.get('/.well-known/jitssh', sendDiscovery)
  app.get('/.well-known/oauth-authorization-server', sendDiscovery)

  app.get('/jwks', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return { keys: [ctx.keys.tokenSigning.publicJwk] }
  })

  app.get('/v1/me', async (request): Promise<WhoAmI> => {
    const { session } = await authenticateBearer(ctx, request)
    const { identity } = session
    return {
      sub: identity.sub,
      email: identity.email,
      ...(identity.name ? { name: identity.name } : {}),
      groups: identity.groups,
      session_id: session.id,
      session_expires_at: new Date(session.expiresAt).toISOString(),
      admin: isAdmin(ctx, identity),
      // The server's clock, for `jitssh doctor` to measure this machine's skew against (certificates use it).
      server_time: new Date(ctx.now()).toISOString(),
    }
  })

  // For load balancers, which need the status only; usage (live tunnels) is for /metrics, which is guarded.
  app.get('/healthz', async (_request, reply) => {
    try {
      await ctx.store.ping()
      return { status: 'ok' }
    } catch {
      return reply.code(503).send({ status: 'unavailable', error: 'storage is not reachable' })
    }
  })
}
