// CONTRACT STUB — to be implemented (issue 2). Signatures are fixed; other code builds against them.
import type { SshKeyPair, SshPublicKey } from './keys.js'

export type CertificateType = 'user' | 'host'

/** What goes into a certificate. Times are Unix seconds. */
export interface CertificateFields {
  type: CertificateType
  /** The subject key being certified. */
  publicKey: SshPublicKey
  serial: bigint
  keyId: string
  principals: string[]
  validAfter: bigint
  validBefore: bigint
  /** e.g. { 'force-command': '/bin/true', 'source-address': '127.0.0.1/32' } — encoded in sorted order. */
  criticalOptions: Record<string, string>
  /** e.g. ['permit-pty', 'permit-port-forwarding'] — encoded in sorted order, empty data. */
  extensions: string[]
  /** 32 random bytes when omitted. */
  nonce?: Buffer
}

export interface SshCertificate extends CertificateFields {
  nonce: Buffer
  /** The CA key that signed it. */
  signatureKey: SshPublicKey
  /** The whole certificate blob. */
  blob: Buffer
  /** `ssh-ed25519-cert-v01@openssh.com AAAA... comment` */
  line: string
}

/** Encodes and signs per PROTOCOL.certkeys with an Ed25519 or ECDSA P-256 CA. */
export declare function signCertificate(fields: CertificateFields, ca: SshKeyPair, comment?: string): SshCertificate
/** Decodes a certificate line or blob and verifies its CA signature for real; throws SshFormatError('ERR_INVALID_CERTIFICATE'). */
export declare function parseCertificate(text: string | Buffer): SshCertificate
