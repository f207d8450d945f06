import type { FastifyRequest } from 'fastify'
import type { ServiceTokenResponse } from '../../shared/protocol.js'
import type { ServiceAccount } from '../config/types.js'
import type { Uses } from '../context.js'
import { serviceSubject, type AuthContext } from '../identity/identity.js'
import { identityOfServiceAccount } from '../identity/service-accounts.js'
import { sha256Hex } from '../oauth/secrets.js'
import type { SessionRow } from '../store/store.js'
import { AutomationRefusal } from './refusal.js'

export type ServiceSessionDeps = Uses<'accessTokens' | 'audit' | 'config' | 'now' | 'sessions' | 'unauthenticated', 'replays' | 'users'>

/** Which grant authenticated a service account (the session's `grant`, the audit's `detail.grant`). */
export type ServiceGrant = 'token_exchange' | 'client_credentials'

/** Refused when the config disables the account or an admin did (`jitssh service-accounts disable`). */
export async function refuseDisabledAccount(ctx: Pick<ServiceSessionDeps, 'store'>, account: ServiceAccount, about: AutomationRefusal['about']): Promise<void> {
  if (account.disabled) throw new AutomationRefusal('account_disabled', `service account ${account.name} is disabled in the server's configuration`, about)
  if (await ctx.store.users.isDisabled(serviceSubject(account.name))) throw new AutomationRefusal('account_disabled', `service account ${account.name} has been disabled by an administrator`, about)
}

/**
 * Uses a token id once: `namespace` keeps a workload issuer's ids apart from a client's. Kept until the token
 * (plus the skew it was allowed) has expired, by when the token itself is refused.
 */
export async function useOnce(ctx: Pick<ServiceSessionDeps, 'now' | 'store'>, namespace: string, jti: string, expSeconds: number, skewSeconds: number, about: AutomationRefusal['about']): Promise<void> {
  const key = sha256Hex(`${namespace}\n${jti}`)
  if (!(await ctx.store.replays.claim(key, (expSeconds + skewSeconds) * 1000, ctx.now()))) {
    throw new AutomationRefusal('replayed', 'this token was used before: every token authenticates once', about)
  }
}

/**
 * A session for the service account and its access token. The session lasts as long as the longer of an
 * access token and the account's max_ttl (within sessions.lifetime), so that every certificate ends before it
 * and revoking it puts them all on the KRL; the access token ends with it at the latest. No refresh token:
 * the job authenticates again.
 */
export async function issueServiceToken(
  ctx: ServiceSessionDeps,
  input: { account: ServiceAccount; auth: AuthContext; grant: ServiceGrant; clientId: string; request: FastifyRequest; detail: Record<string, unknown> },
): Promise<ServiceTokenResponse> {
  const { account, request } = input
  const identity = identityOfServiceAccount(account)
  const session: SessionRow = await ctx.sessions.create(identity, input.auth, {
    grant: input.grant,
    clientIp: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
    lifetimeMs: Math.max(ctx.config.sessions.accessTokenTtlMs, account.maxTtlMs),
  })
  const access = await ctx.accessTokens.issue(session, input.clientId)
  await ctx.audit.record({
    type: 'token.issue', outcome: 'ok', user: identity.email, sessionId: session.id,
    detail: { grant: input.grant, ip: request.ip, expires_at: new Date(session.expiresAt).toISOString(), ...input.detail },
  })
  return {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.expiresIn,
    session_expires_at: new Date(session.expiresAt).toISOString(),
  }
}

/**
 * Audits a refusal: its caller has not authenticated, so the row comes out of the unauthenticated budget; it
 * counts as about an account only when a trusted signature (or a known client) named one.
 */
export async function auditRefusal(ctx: Pick<ServiceSessionDeps, 'unauthenticated'>, request: FastifyRequest, grant: ServiceGrant, refusal: AutomationRefusal): Promise<void> {
  const { about } = refusal
  await ctx.unauthenticated.record('token', request, {
    type: grant === 'token_exchange' ? 'token_exchange.refused' : 'client_credentials.refused',
    outcome: 'denied',
    user: about.account ? serviceSubject(about.account) : null,
    detail: {
      grant, reason: refusal.reason, message: refusal.message, ip: request.ip,
      ...(about.issuer !== undefined ? { issuer: about.issuer } : {}),
      ...(about.trust !== undefined ? { trust: about.trust } : {}),
      ...(about.client !== undefined ? { client_id: about.client } : {}),
      ...(about.claims !== undefined ? { claims: about.claims } : {}),
    },
  }, about.account ? 'account' : 'unknown')
}
