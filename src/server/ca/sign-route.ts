import type { FastifyInstance } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { SignRequest, SignResponse } from '../../shared/protocol.js'
import type { ServerContext } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import { requestedHost, requestedObject, requestedPublicKey } from '../http/request-fields.js'
import { decideAccess } from '../policy/policy.js'
import { issueUserCertificate } from './issue-certificate.js'

export type SignRouteDeps = Pick<ServerContext, 'accessTokens' | 'sessions' | 'audit' | 'config' | 'keys' | 'now'>

/** `POST /v1/ssh/sign`: {public_key, hostname} → a short-lived user certificate, if policy grants one. */
export function registerSignRoute(app: FastifyInstance, deps: SignRouteDeps): void {
  app.post<{ Body: Partial<SignRequest> }>('/v1/ssh/sign', async (request): Promise<SignResponse> => {
    let auth: Authenticated | undefined
    let host: string | null = null
    try {
      auth = await authenticateBearer(deps, request)
      const body = requestedObject<SignRequest>(request.body, '{public_key, hostname}')
      host = requestedHost(body.hostname)
      const publicKey = requestedPublicKey(body.public_key)
      const { identity } = auth.session
      const decision = decideAccess(deps.config.policy, identity, host, deps.config.certificates)
      if (!decision.allowed) throw new JitsshError('ERR_POLICY_DENIED', decision.reason)

      const { certificate, row } = await issueUserCertificate(deps, {
        publicKey, host, session: auth.session, grant: decision, purpose: 'cli', ip: request.ip,
        onSignerError: (error) => request.log.error({ err: error }, 'the user CA could not sign'),
      })
      return {
        certificate: certificate.line,
        serial: row.serial,
        key_id: row.keyId,
        principals: row.principals,
        valid_after: new Date(row.validAfter * 1000).toISOString(),
        valid_before: new Date(row.validBefore * 1000).toISOString(),
      }
    } catch (error) {
      if (error instanceof JitsshError && error.code !== 'ERR_SERVER') {
        const raw = (request.body as { hostname?: unknown } | undefined)?.hostname
        await deps.audit.record({
          type: 'access.denied', outcome: 'denied', user: auth?.session.identity.email ?? null, sessionId: auth?.session.id ?? null, host,
          detail: { action: 'sign', code: error.code, reason: error.message, ip: request.ip, ...(host === null && typeof raw === 'string' ? { requested_host: raw.slice(0, 300) } : {}) },
        })
      }
      throw error
    }
  })
}
