import type { FastifyInstance } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { SignRequest, SignResponse } from '../../shared/protocol.js'
import type { ServerContext } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import { requestedHost, requestedObject, requestedPublicKey, requestedTtl } from '../http/request-fields.js'
import { authenticatedBy } from '../identity/service-accounts.js'
import { policyDetail, requireGrant } from '../policy/access.js'
import { issueUserCertificate } from './issue-certificate.js'

export type SignRouteDeps = Pick<ServerContext, 'accessTokens' | 'sessions' | 'audit' | 'config' | 'keys' | 'now' | 'requests' | 'unauthenticated'>

/**
 * `POST /v1/ssh/sign`: {public_key, hostname} → a short-lived user certificate, if policy grants one.
 * Rate-limited per IP; a request without a valid token is counted, never audited (anyone can send them).
 */
export function registerSignRoute(app: FastifyInstance, deps: SignRouteDeps): void {
  const perIp = { config: { rateLimit: { max: deps.config.rateLimits.signPerMinute, timeWindow: 60_000 } } }
  app.post<{ Body: Partial<SignRequest> }>('/v1/ssh/sign', perIp, async (request): Promise<SignResponse> => {
    let auth: Authenticated | undefined
    let host: string | null = null
    try {
      auth = await authenticateBearer(deps, request)
      const body = requestedObject<SignRequest>(request.body, '{public_key, hostname}')
      host = requestedHost(body.hostname)
      const publicKey = requestedPublicKey(body.public_key)
      const requestedTtlMs = requestedTtl(body.ttl_seconds)
      const { identity } = auth.session
      const at = deps.now()
      const grants = await deps.requests.grantsFor(identity, at)
      const decision = requireGrant(deps.config, auth.session, { host, at, sourceIp: request.ip, grants, ...(requestedTtlMs !== undefined ? { requestedTtlMs } : {}) })

      const { certificate, row } = await issueUserCertificate(deps, {
        publicKey, host, session: auth.session, grant: decision, purpose: 'cli', ip: request.ip,
        onSignerError: (error) => request.log.error({ err: error }, 'the user CA could not sign'),
      })
      if (decision.grantId) await deps.requests.used(decision.grantId, { identity, auth: auth.session.auth, sessionId: auth.session.id, ip: request.ip }, { action: 'sign', host })
      return {
        certificate: certificate.line,
        serial: row.serial,
        key_id: row.keyId,
        principals: row.principals,
        valid_after: new Date(row.validAfter * 1000).toISOString(),
        valid_before: new Date(row.validBefore * 1000).toISOString(),
      }
    } catch (error) {
      if (error instanceof JitsshError && auth === undefined) deps.unauthenticated.refused('sign', request, error)
      else if (error instanceof JitsshError && error.code !== 'ERR_SERVER') {
        const raw = (request.body as { hostname?: unknown } | undefined)?.hostname
        await deps.audit.record({
          type: 'access.denied', outcome: 'denied', user: auth?.session.identity.email ?? null, sessionId: auth?.session.id ?? null, host,
          detail: { action: 'sign', code: error.code, reason: error.message, ip: request.ip, ...policyDetail(error), ...authenticatedBy(auth?.session.auth ?? null), ...(host === null && typeof raw === 'string' ? { requested_host: raw.slice(0, 300) } : {}) },
        })
      }
      throw error
    }
  })
}
