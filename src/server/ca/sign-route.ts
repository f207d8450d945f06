import type { FastifyInstance } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { SignRequest, SignResponse } from '../../shared/protocol.js'
import { signCertificate } from '../../ssh/certificate.js'
import { parseHostSpec } from '../../ssh/config.js'
import { SshFormatError } from '../../ssh/errors.js'
import { fingerprint, parsePublicKey, type SshPublicKey } from '../../ssh/keys.js'
import type { ServerContext } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import { decideAccess } from '../policy/policy.js'
import { planUserCertificate } from './user-certificate.js'

const MAX_KEY_LENGTH = 4096

/** Validates a host name from a request: lower-case DNS name, no pattern, no port. */
export function requestedHost(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 253) {
    throw new JitsshError('ERR_INVALID_HOSTNAME', 'hostname must be a DNS name of at most 253 characters')
  }
  try {
    return parseHostSpec(value, { allowPattern: false, allowPort: false }).host.toLowerCase()
  } catch (error) {
    if (error instanceof SshFormatError) throw new JitsshError('ERR_INVALID_HOSTNAME', error.message)
    throw error
  }
}

function requestedPublicKey(value: unknown): SshPublicKey {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new JitsshError('ERR_INVALID_KEY', 'public_key must be one OpenSSH public key line (Ed25519 or ECDSA P-256)')
  }
  try {
    return parsePublicKey(value.trim())
  } catch (error) {
    if (error instanceof SshFormatError) throw new JitsshError('ERR_INVALID_KEY', error.message)
    throw error
  }
}

/** `POST /v1/ssh/sign`: {public_key, hostname} → a short-lived user certificate, if policy grants one. */
export function registerSignRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: Partial<SignRequest> }>('/v1/ssh/sign', async (request): Promise<SignResponse> => {
    let auth: Authenticated | undefined
    let host: string | null = null
    try {
      auth = await authenticateBearer(ctx, request)
      const body = request.body
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new JitsshError('ERR_BAD_REQUEST', 'expected a JSON object {public_key, hostname}')
      host = requestedHost(body.hostname)
      const publicKey = requestedPublicKey(body.public_key)
      const { identity } = auth.session
      const decision = decideAccess(ctx.config.policy, identity, host, { sourceAddress: ctx.config.certificates.sourceAddress })
      if (!decision.allowed) throw new JitsshError('ERR_POLICY_DENIED', decision.reason)

      const plan = planUserCertificate({ publicKey, host, session: auth.session, grant: decision, nowMs: ctx.now(), backdateMs: ctx.config.certificates.backdateMs })
      const certificate = signCertificate(plan.decided, ctx.keys.userCa, `${identity.email}@${host}`)
      const row = {
        serial: certificate.serial.toString(),
        sessionId: auth.session.id,
        userEmail: identity.email,
        host,
        principals: certificate.principals,
        keyId: certificate.keyId,
        fingerprint: fingerprint(publicKey),
        validAfter: Number(certificate.validAfter),
        validBefore: Number(certificate.validBefore),
        issuedAt: ctx.now(),
      }
      await ctx.audit.recordCertificate(row, {
        type: 'cert.sign', outcome: 'ok', user: identity.email, sessionId: auth.session.id, host,
        detail: {
          serial: row.serial, key_id: row.keyId, principals: row.principals, fingerprint: row.fingerprint, rule: decision.rule,
          valid_after: row.validAfter, valid_before: row.validBefore, extensions: certificate.extensions,
          critical_options: certificate.criticalOptions, ip: request.ip,
        },
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
      if (error instanceof JitsshError) {
        const raw = (request.body as { hostname?: unknown } | undefined)?.hostname
        await ctx.audit.record({
          type: 'access.denied', outcome: 'denied', user: auth?.session.identity.email ?? null, sessionId: auth?.session.id ?? null, host,
          detail: { action: 'sign', code: error.code, reason: error.message, ip: request.ip, ...(host === null && typeof raw === 'string' ? { requested_host: raw.slice(0, 300) } : {}) },
        })
      }
      throw error
    }
  })
}
