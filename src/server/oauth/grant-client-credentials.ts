import type { FastifyRequest } from 'fastify'
import type { ServiceTokenResponse } from '../../shared/protocol.js'
import { ASSERTION_SKEW_SECONDS, authenticateClient } from '../automation/client-authentication.js'
import { AutomationRefusal } from '../automation/refusal.js'
import { auditRefusal, issueServiceToken, refuseDisabledAccount, useOnce, type ServiceSessionDeps } from '../automation/service-session.js'
import type { Uses } from '../context.js'
import { OAuthError } from '../http/errors.js'
import { credentialOf } from '../identity/service-accounts.js'
import type { TokenParams } from './grant-authorization-code.js'

export type ClientCredentialsDeps = ServiceSessionDeps & Uses<'publicUrl'>

/**
 * `grant_type=client_credentials` (RFC 6749 §4.4) for CI systems without OIDC: a client of a service account
 * authenticates with `private_key_jwt` (RFC 7523, each assertion once) or its secret, and gets a short access
 * token of that account. A client that does not authenticate is `invalid_client` (401); a disabled account
 * `invalid_grant`. Every refusal is audited (`client_credentials.refused`, detail.reason).
 */
export async function grantClientCredentials(ctx: ClientCredentialsDeps, params: TokenParams, request: FastifyRequest): Promise<ServiceTokenResponse> {
  try {
    const issuer = ctx.publicUrl()
    const authenticated = await authenticateClient(params, request.headers.authorization, ctx.config, { tokenEndpoint: `${issuer}/token`, issuer }, ctx.now())
    const { account, client } = authenticated
    const about = { account: account.name, client: client.id }
    if (authenticated.assertion) await useOnce(ctx, `client\n${client.id}`, authenticated.assertion.jti, authenticated.assertion.exp, ASSERTION_SKEW_SECONDS, about)
    await refuseDisabledAccount(ctx, account, about)
    return await issueServiceToken(ctx, {
      account,
      auth: { time: ctx.now(), method: 'client_credentials', credential: credentialOf(account, { client }) },
      grant: 'client_credentials',
      clientId: client.id,
      request,
      detail: { client_id: client.id, auth_method: authenticated.method },
    })
  } catch (error) {
    if (!(error instanceof AutomationRefusal)) throw error
    await auditRefusal(ctx, request, 'client_credentials', error)
    if (error.reason === 'account_disabled') throw new OAuthError('invalid_grant', `client credentials refused (${error.reason}): ${error.message}`)
    throw new OAuthError('invalid_client', `client authentication failed (${error.reason}): ${error.message}`, 401)
  }
}
