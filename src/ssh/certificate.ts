// OpenSSH certificates (PROTOCOL.certkeys): encode and sign with an Ed25519 or ECDSA P-256 CA; decode
// and verify the CA signature for real.
import { randomBytes } from 'node:crypto'
import { checkCertificateText, decodeCriticalOptions, decodeExtensions, encodeCriticalOptions, encodeExtensions } from './certificate-options.js'
import { SshFormatError } from './errors.js'
import { parseKeyLine } from './key-line.js'
import type { PublicKeyType, SshPublicKey } from './keys.js'
import { decodePublicKeyBlob, readPublicKeyFields } from './public-key-blob.js'
import type { Signer } from './signer.js'
import { verifySshSignature } from './ssh-signature.js'
import { SshReader, SshWriter } from './wire.js'

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

/** The certificate key type for each subject key type. */
export const CERTIFICATE_KEY_TYPES: Readonly<Record<PublicKeyType, string>> = {
  'ssh-ed25519': 'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256': 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ssh-rsa': 'ssh-rsa-cert-v01@openssh.com',
}
const SUBJECT_TYPES = new Map(Object.entries(CERTIFICATE_KEY_TYPES).map(([key, cert]) => [cert, key as PublicKeyType]))
const CERT_TYPE_CODES: Record<CertificateType, number> = { user: 1, host: 2 }
const UINT64_MAX = (1n << 64n) - 1n
/** OpenSSH refuses certificates with more principals than this (SSHKEY_CERT_MAX_PRINCIPALS). */
const MAX_PRINCIPALS = 256
const MAX_CERTIFICATE_LINE = 64 * 1024

function invalid(reason: string): never {
  throw new SshFormatError('ERR_INVALID_CERTIFICATE', `invalid certificate: ${reason}`)
}

function checkUint64(value: bigint, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > UINT64_MAX) invalid(`${field} is not a uint64`)
  return value
}

function certificateLine(certType: string, blob: Buffer, comment: string): string {
  if (/[\x00\r\n]/.test(comment)) invalid('comment contains a line break or NUL')
  return `${certType} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`
}

/**
 * Encodes per PROTOCOL.certkeys and has `ca` sign it (an Ed25519 or ECDSA P-256 CA). The signature's
 * algorithm must be the CA key's own; its bytes are not verified here (that cost more than signing): the
 * tests hold the output to parseCertificate, `ssh-keygen -L` and a real sshd.
 */
export async function signCertificate(fields: CertificateFields, ca: Signer, comment = ''): Promise<SshCertificate> {
  const subject = decodePublicKeyBlob(fields.publicKey.blob, { allowRsa: true, code: 'ERR_INVALID_CERTIFICATE' })
  const certType = CERTIFICATE_KEY_TYPES[subject.type]
  if (!Object.hasOwn(CERT_TYPE_CODES, fields.type)) invalid('type must be "user" or "host"')
  const typeCode = CERT_TYPE_CODES[fields.type]
  checkUint64(fields.serial, 'serial')
  checkUint64(fields.validAfter, 'valid after')
  checkUint64(fields.validBefore, 'valid before')
  if (fields.validAfter >= fields.validBefore) invalid('valid after must be earlier than valid before')
  // An empty principal list would make the certificate valid for every user or host.
  if (fields.principals.length === 0) invalid('no principals (an empty list means "any principal")')
  if (fields.principals.length > MAX_PRINCIPALS) invalid(`more than ${MAX_PRINCIPALS} principals`)
  fields.principals.forEach((principal) => checkCertificateText(principal, 'principal'))
  checkCertificateText(fields.keyId, 'key id', { allowEmpty: true })
  const nonce = fields.nonce ?? randomBytes(32)
  if (nonce.length === 0) invalid('nonce is empty')

  // The subject's key fields are its blob after the type string, copied exactly.
  const subjectFields = subject.blob.subarray(4 + Buffer.byteLength(subject.type))
  const principals = new SshWriter()
  fields.principals.forEach((principal) => principals.string(principal))
  const criticalOptions = encodeCriticalOptions(fields.criticalOptions)
  const extensions = encodeExtensions(fields.extensions)
  const body = new SshWriter()
    .string(certType)
    .string(nonce)
    .raw(subjectFields)
    .uint64(fields.serial)
    .uint32(typeCode)
    .string(fields.keyId)
    .string(principals.toBuffer())
    .uint64(fields.validAfter)
    .uint64(fields.validBefore)
    .string(criticalOptions)
    .string(extensions)
    .string('')
    .string(ca.publicKey.blob)
    .toBuffer()
  const signature = await ca.sign(body)
  checkSignatureAlgorithm(signature, ca.publicKey.type)
  const blob = new SshWriter().raw(body).string(signature).toBuffer()
  // The fields as parseCertificate would read them back, without decoding the keys again.
  return {
    type: fields.type,
    publicKey: { type: subject.type, blob: subject.blob, key: subject.key, comment: '' },
    serial: fields.serial,
    keyId: fields.keyId,
    principals: [...fields.principals],
    validAfter: fields.validAfter,
    validBefore: fields.validBefore,
    criticalOptions: decodeCriticalOptions(criticalOptions),
    extensions: decodeExtensions(extensions),
    nonce: Buffer.from(nonce),
    signatureKey: { type: ca.publicKey.type, blob: ca.publicKey.blob, key: ca.publicKey.key, comment: '' },
    blob,
    line: certificateLine(certType, blob, comment),
  }
}

/** A signer that answers with another algorithm (or garbage) would make a certificate no sshd accepts. */
function checkSignatureAlgorithm(signature: Buffer, caType: PublicKeyType): void {
  let algorithm: string
  try {
    const reader = new SshReader(signature, 'ERR_INVALID_CERTIFICATE', 'signature')
    algorithm = reader.text('signature algorithm')
    reader.string('signature')
    reader.end()
  } catch {
    return invalid('the CA signer returned a malformed signature')
  }
  const expected = caType === 'ssh-rsa' ? ['rsa-sha2-256', 'rsa-sha2-512'] : [caType]
  if (!expected.includes(algorithm)) invalid(`the CA signer signed with ${algorithm.slice(0, 40)}, not ${expected.join(' or ')}`)
}

/** Decodes a certificate line or blob and verifies its CA signature for real; throws SshFormatError('ERR_INVALID_CERTIFICATE'). */
export function parseCertificate(text: string | Buffer): SshCertificate {
  const line = Buffer.isBuffer(text)
    ? { type: null, blob: Buffer.from(text), comment: '' }
    : parseKeyLine(text, 'ERR_INVALID_CERTIFICATE', 'certificate', MAX_CERTIFICATE_LINE)
  const { blob, comment } = line
  if (line.type !== null && !SUBJECT_TYPES.has(line.type)) invalid(`"${line.type}" is not a supported certificate type`)
  const reader = new SshReader(blob, 'ERR_INVALID_CERTIFICATE', 'certificate')
  const certType = reader.text('certificate type')
  const subjectType = SUBJECT_TYPES.get(certType)
  if (!subjectType) return reader.fail(`"${certType}" is not a supported certificate type`)
  if (line.type !== null && line.type !== certType) reader.fail(`the line says ${line.type} but the certificate is ${certType}`)
  const nonce = reader.string('nonce')
  const fieldsStart = reader.position
  const { key } = readPublicKeyFields(reader, subjectType, { allowRsa: true })
  const subjectBlob = new SshWriter().string(subjectType).raw(blob.subarray(fieldsStart, reader.position)).toBuffer()
  const serial = reader.uint64('serial')
  const typeCode = reader.uint32('certificate type code')
  const type = typeCode === 1 ? 'user' : typeCode === 2 ? 'host' : reader.fail(`unknown certificate type code ${typeCode}`)
  const keyId = reader.text('key id')
  const principals = readPrincipals(reader.string('principals'))
  const validAfter = reader.uint64('valid after')
  const validBefore = reader.uint64('valid before')
  const criticalOptions = decodeCriticalOptions(reader.string('critical options'))
  const extensions = decodeExtensions(reader.string('extensions'))
  reader.string('reserved')
  const caBlob = reader.string('signature key')
  const signedLength = reader.position
  const signature = reader.string('signature')
  reader.end()

  // A certificate as CA key ("chained" certificates) is refused here: it is not a plain public key.
  const signatureKey = decodePublicKeyBlob(caBlob, { allowRsa: true, code: 'ERR_INVALID_CERTIFICATE' })
  if (!verifySshSignature(signatureKey, blob.subarray(0, signedLength), signature)) {
    reader.fail('the CA signature does not verify')
  }
  return {
    type,
    publicKey: { type: subjectType, blob: subjectBlob, key, comment: '' },
    serial,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    nonce: Buffer.from(nonce),
    signatureKey,
    blob,
    line: certificateLine(certType, blob, comment),
  }
}

function readPrincipals(packed: Buffer): string[] {
  const reader = new SshReader(packed, 'ERR_INVALID_CERTIFICATE', 'certificate')
  const principals: string[] = []
  while (reader.remaining > 0) {
    if (principals.length === MAX_PRINCIPALS) reader.fail(`more than ${MAX_PRINCIPALS} principals`)
    principals.push(reader.text('principal'))
  }
  return principals
}
