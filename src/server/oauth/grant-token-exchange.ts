import type { FastifyRequest } from 'fastify'
import { ACCESS_TOKEN_TYPE, CLIENT_ID, ID_TOKEN_TYPE, JWT_TOKEN_TYPE, type ServiceTokenResponse } from '../../shared/protocol.js'
import { AutomationRefusal } from '../automation/refusal.js'
import { auditRefusal, issueServiceToken, refuseDisabledAccount, useOnce, type ServiceSessionDeps } from '../automation/service-session.js'
import { verifyWorkloadToken, WORKLOAD_SKEW_SECONDS } from '../automation/workload-token.js'
import type { Uses } from '../context.js'
import { OAuthError } from '../http/errors.js'
import { credentialOf } from '../identity/service-accounts.js'
import type { TokenParams } from './grant-authorization-code.js'

export type TokenExchangeDeps = ServiceSessionDeps & Uses<'issuerKeys'>

/**
 * `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693): a CI job's OIDC ID token (the
 * `subject_token`) for a short access token of the service account its trust maps it to. Every refusal is
 * audited (`token_exchange.refused`, detail.reason) and answered `invalid_request` (RFC 8693 §2.2.2) naming
 * the reason code; an unreachable issuer is `temporarily_unavailable`.
 */
export async function exchangeWorkloadToken(ctx: TokenExchangeDeps, params: TokenParams, request: FastifyRequest): Promise<ServiceTokenResponse> {
  if (params.client_id !== undefined && params.client_id !== CLIENT_ID) throw new OAuthError('invalid_client', `unknown client_id (token exchange is for ${CLIENT_ID})`, 401)
  if (!params.subject_token) throw new OAuthError('invalid_request', 'subject_token is required')
  if (params.subject_token_type !== ID_TOKEN_TYPE && params.subject_token_type !== JWT_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `subject_token_type must be ${ID_TOKEN_TYPE} or ${JWT_TOKEN_TYPE}`)
  }
  if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new OAuthError('invalid_request', `only ${ACCESS_TOKEN_TYPE} can be requested`)
  }
  if (params.actor_token !== undefined) throw new OAuthError('invalid_request', 'delegation (actor_token) is not supported')

  try {
    const match = await verifyWorkloadToken(params.subject_token, ctx.config, ctx.issuerKeys, ctx.now())
    const about = { account: match.account.name, trust: match.trust.name, issuer: match.issuer, claims: match.claims }
    await refuseDisabledAccount(ctx, match.account, about)
    await useOnce(ctx, `workload\n${match.issuer}`, match.jti, match.exp, WORKLOAD_SKEW_SECONDS, about)
    const response = await issueServiceToken(ctx, {
      account: match.account,
      auth: { time: ctx.now(), method: 'workload', credential: credentialOf(match.account, { trust: match.trust }) },
      grant: 'token_exchange',
      clientId: CLIENT_ID,
      request,
      detail: { trust: match.trust.name, issuer: match.issuer, claims: match.claims },
    })
    return { ...response, issued_token_type: ACCESS_TOKEN_TYPE }
  } catch (error) {
    if (!(error instanceof AutomationRefusal)) throw error
    await auditRefusal(ctx, request, 'token_exchange', error)
    if (error.reason === 'jwks_unavailable') throw new OAuthError('temporarily_unavailable', error.message, 503)
    throw new OAuthError(error.reason === 'account_disabled' ? 'invalid_grant' : 'invalid_request', `token exchange refused (${error.reason}): ${error.message}`)
  }
}
