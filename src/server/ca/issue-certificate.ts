import { JitsshError } from '../../shared/errors.js'
import type { SshCertificate } from '../../ssh/certificate.js'
import { fingerprint, type SshPublicKey } from '../../ssh/keys.js'
import type { ServerContext } from '../context.js'
import type { AccessGrant } from '../policy/policy.js'
import type { CertificateRow, SessionRow } from '../store/store.js'
import { authenticatedBy } from '../identity/service-accounts.js'
import { signPlan } from './certificate-plan.js'
import { planUserCertificate, type CertificatePurpose } from './user-certificate.js'

export type IssueCertificateDeps = Pick<ServerContext, 'audit' | 'config' | 'keys' | 'now'>

export interface IssueCertificateRequest {
  publicKey: SshPublicKey
  host: string
  /** The active session (openHostAccess) the certificate belongs to: it ends with it and goes on the KRL with it. */
  session: SessionRow
  /** The policy's grant for this person and host: principals, lifetime, extensions, source-address. */
  grant: AccessGrant
  /** `cli` (POST /v1/ssh/sign) or `web` (the browser terminal's in-memory key): named in the key id. */
  purpose: CertificatePurpose
  /** At most this long, whatever the rule allows (the browser terminal's certificate only has to log in once). */
  maxTtlMs?: number
  /** The client's address, for the audit event. */
  ip: string
  /** Told why the CA failed (the person only hears that it did). */
  onSignerError: (error: unknown) => void
}

export interface IssuedCertificate {
  certificate: SshCertificate
  row: CertificateRow
}

/**
 * Plans, signs, records and audits one user certificate: the one path for every certificate a person gets.
 * The row and its `cert.sign` event are written in one durable write before this returns, so the
 * certificate is on the KRL as soon as its session is revoked. A signer failure is audited (outcome
 * `error`) and thrown as ERR_SERVER.
 */
export async function issueUserCertificate(deps: IssueCertificateDeps, request: IssueCertificateRequest): Promise<IssuedCertificate> {
  const { session, host, publicKey, purpose } = request
  const { identity } = session
  const grant = request.maxTtlMs === undefined ? request.grant : { ...request.grant, ttlMs: Math.min(request.grant.ttlMs, request.maxTtlMs) }
  const { certificates } = deps.config
  const plan = planUserCertificate({ publicKey, host, session, grant, purpose, nowMs: deps.now(), backdateMs: certificates.backdateMs, hostBound: certificates.directAccess })
  let certificate: SshCertificate
  try {
    certificate = await signPlan(plan, deps.keys.userCa, `${identity.email}@${host}`)
  } catch (error) {
    request.onSignerError(error)
    await deps.audit.record({
      type: 'cert.sign', outcome: 'error', user: identity.email, sessionId: session.id, host,
      detail: { reason: 'the certificate authority could not sign', rule: grant.rule, ...purposeDetail(purpose), ip: request.ip },
    })
    throw new JitsshError('ERR_SERVER', 'the certificate authority could not sign; try again shortly')
  }
  const row: CertificateRow = {
    serial: certificate.serial.toString(),
    sessionId: session.id,
    userEmail: identity.email,
    host,
    principals: certificate.principals,
    keyId: certificate.keyId,
    fingerprint: fingerprint(publicKey),
    validAfter: Number(certificate.validAfter),
    validBefore: Number(certificate.validBefore),
    issuedAt: deps.now(),
    grantId: grant.grantId,
  }
  await deps.audit.recordCertificate(row, {
    type: 'cert.sign', outcome: 'ok', user: identity.email, sessionId: session.id, host,
    detail: {
      serial: row.serial, key_id: row.keyId, principals: row.principals, fingerprint: row.fingerprint, rule: grant.rule,
      valid_after: row.validAfter, valid_before: row.validBefore, extensions: certificate.extensions,
      critical_options: certificate.criticalOptions, ...purposeDetail(purpose), ip: request.ip, ...(grant.grantId ? { grant: grant.grantId } : {}),
      ...authenticatedBy(session.auth),
    },
  })
  return { certificate, row }
}

/** The audit detail names a purpose other than the CLI's (whose events keep the shape they always had). */
function purposeDetail(purpose: CertificatePurpose): { purpose?: CertificatePurpose } {
  return purpose === 'cli' ? {} : { purpose }
}
