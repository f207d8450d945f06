import { signCertificate } from '../../ssh/certificate.js'
import type { CertificateFields, SshCertificate } from '../../ssh/certificate.js'
import type { SshPublicKey } from '../../ssh/keys.js'
import type { Signer } from '../../ssh/signer.js'

/**
 * What goes into a certificate, before signing, in two visibly separate parts (as smallstep keeps them):
 * `requested` came from the requester and was validated; `decided` is the server's own, from policy, session
 * and clock. The subject key is the only requested field that enters the certificate as it is.
 */
export interface CertificatePlan<Requested extends { publicKey: SshPublicKey }> {
  requested: Requested
  decided: Omit<CertificateFields, 'publicKey' | 'nonce'>
}

/** Signs the plan: the decided fields, for the requested key. */
export function signPlan(plan: CertificatePlan<{ publicKey: SshPublicKey }>, signer: Signer, comment = ''): Promise<SshCertificate> {
  return signCertificate({ ...plan.decided, publicKey: plan.requested.publicKey }, signer, comment)
}
