// Public key wire blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709) <-> node:crypto KeyObject, via JWK.
// Decoding validates everything OpenSSH would: type, lengths, and that an ECDSA point is on P-256.
import { createPublicKey, type KeyObject } from 'node:crypto'
import type { SshFormatErrorCode } from './errors.js'
import type { KeyType, PublicKeyType, SshPublicKey } from './keys.js'
import { SshReader, SshWriter, fixedWidth } from './wire.js'

const ED25519_KEY_BYTES = 32
const P256_COORDINATE_BYTES = 32
const RSA_MIN_BITS = 2048
const RSA_MAX_BITS = 16384

// NIST P-256 (SEC 2 secp256r1): y^2 = x^3 - 3x + b over GF(p).
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn

export interface DecodeOptions {
  allowRsa?: boolean
  /** The error code failures are reported with (a key inside a certificate reports as a certificate). */
  code?: SshFormatErrorCode
}

const toBigInt = (bytes: Buffer): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`))

const ED25519_P = (1n << 255n) - 19n
/**
 * The y coordinates of Ed25519's eight points of small order (1, 2, 4 and 8): y = 1 (the identity), p - 1,
 * 0, and the two of order 8. Their encodings, with either sign bit, are what libsodium's
 * crypto_sign_ed25519 refuses (ge25519_has_small_order).
 */
const ED25519_SMALL_ORDER_Y = new Set<bigint>([
  0n,
  1n,
  ED25519_P - 1n,
  littleEndian(Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex')),
  littleEndian(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex')),
])

function littleEndian(bytes: Buffer): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`)
}

/**
 * Why an Ed25519 public key must be refused, or undefined. A point of small order has signatures that hold
 * for any message (the identity point verifies a constant signature): a certificate for it logs in without
 * any private key. A non-canonical encoding (y >= p) is refused as OpenSSH's and libsodium's decoders do.
 */
export function ed25519KeyProblem(pk: Buffer): string | undefined {
  const encoded = Buffer.from(pk)
  encoded[31] = (encoded[31] as number) & 0x7f // the sign of x
  const y = littleEndian(encoded)
  if (y >= ED25519_P) return 'Ed25519 public key is not canonically encoded'
  if (ED25519_SMALL_ORDER_Y.has(y)) return 'Ed25519 public key is a point of small order (no private key is needed for it)'
  return undefined
}

/** True when (x, y) is an affine point on P-256 with coordinates in the field. */
export function isOnP256(x: Buffer, y: Buffer): boolean {
  const bx = toBigInt(x)
  const by = toBigInt(y)
  if (bx >= P256_P || by >= P256_P) return false
  const lhs = (by * by) % P256_P
  const rhs = (((bx * bx) % P256_P) * bx - 3n * bx + P256_B) % P256_P
  return lhs === (rhs + P256_P) % P256_P
}

function importPublicKey(reader: SshReader, jwk: Record<string, string>): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' })
  } catch {
    return reader.fail(`node:crypto rejected the ${jwk.kty} key`)
  }
}

/** Bit length of an unsigned big-endian magnitude. */
function bitLength(magnitude: Buffer): number {
  let start = 0
  while (start < magnitude.length && magnitude[start] === 0) start++
  if (start === magnitude.length) return 0
  return (magnitude.length - start - 1) * 8 + (32 - Math.clz32(magnitude[start] as number))
}

/** Reads and validates the key-specific fields that follow the type string (shared with certificates). */
export function readPublicKeyFields(reader: SshReader, type: string, options: DecodeOptions = {}): { type: PublicKeyType; key: KeyObject } {
  switch (type) {
    case 'ssh-ed25519': {
      const pk = reader.string('Ed25519 public key')
      if (pk.length !== ED25519_KEY_BYTES) reader.fail(`Ed25519 public key must be ${ED25519_KEY_BYTES} bytes, not ${pk.length}`)
      const problem = ed25519KeyProblem(pk)
      if (problem !== undefined) reader.fail(problem)
      return { type, key: importPublicKey(reader, { kty: 'OKP', crv: 'Ed25519', x: pk.toString('base64url') }) }
    }
    case 'ecdsa-sha2-nistp256': {
      const curve = reader.text('curve name')
      if (curve !== 'nistp256') reader.fail(`curve "${curve}" does not match the key type`)
      const point = reader.string('EC point')
      if (point.length !== 1 + 2 * P256_COORDINATE_BYTES || point[0] !== 0x04) reader.fail('EC point must be an uncompressed P-256 point')
      const x = point.subarray(1, 1 + P256_COORDINATE_BYTES)
      const y = point.subarray(1 + P256_COORDINATE_BYTES)
      if (!isOnP256(x, y)) reader.fail('EC point is not on the P-256 curve')
      // OpenSSH's sanity check (sshkey_ec_validate_public): both coordinates wider than half the order.
      if (bitLength(x) <= 128 || bitLength(y) <= 128) reader.fail('EC point is degenerate')
      const jwk = { kty: 'EC', crv: 'P-256', x: x.toString('base64url'), y: y.toString('base64url') }
      return { type, key: importPublicKey(reader, jwk) }
    }
    case 'ssh-rsa': {
      const e = reader.mpint('RSA exponent')
      const n = reader.mpint('RSA modulus')
      const bits = bitLength(n)
      if (bits < RSA_MIN_BITS) reader.fail(`RSA keys under ${RSA_MIN_BITS} bits are not accepted (this one has ${bits})`)
      if (bits > RSA_MAX_BITS) reader.fail(`RSA keys over ${RSA_MAX_BITS} bits are not accepted`)
      if (!options.allowRsa) reader.fail('RSA keys are not accepted; use an Ed25519 key')
      const exponent = toBigInt(e)
      if (exponent < 3n || exponent % 2n === 0n || e.length > 8) reader.fail('RSA exponent is invalid')
      const jwk = { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }
      return { type, key: importPublicKey(reader, jwk) }
    }
    case 'ssh-dss':
      return reader.fail('DSA keys are not accepted')
    default:
      if (type.endsWith('-cert-v01@openssh.com')) return reader.fail(`a certificate (${type}) is not a plain public key`)
      return reader.fail(`unsupported key type "${type}"`)
  }
}

/** Decodes and validates a public key blob; rejects trailing bytes. The comment is empty. */
export function decodePublicKeyBlob(blob: Buffer, options: DecodeOptions = {}): SshPublicKey {
  const reader = new SshReader(blob, options.code ?? 'ERR_INVALID_KEY', 'public key')
  const type = reader.text('key type')
  const { type: checked, key } = readPublicKeyFields(reader, type, options)
  reader.end()
  return { type: checked, blob, key, comment: '' }
}

/** Appends the key-specific fields of a public key (everything after the type string) to `writer`. */
export function writePublicKeyFields(writer: SshWriter, type: PublicKeyType, key: KeyObject): SshWriter {
  const jwk = key.export({ format: 'jwk' })
  const field = (name: string): Buffer => {
    const value = (jwk as Record<string, unknown>)[name]
    if (typeof value !== 'string') throw new TypeError(`key has no JWK "${name}" for ${type}`)
    return Buffer.from(value, 'base64url')
  }
  switch (type) {
    case 'ssh-ed25519':
      if (jwk.crv !== 'Ed25519') throw new TypeError('not an Ed25519 key')
      return writer.string(field('x'))
    case 'ecdsa-sha2-nistp256': {
      if (jwk.crv !== 'P-256') throw new TypeError('not a P-256 key')
      const point = Buffer.concat([Buffer.from([0x04]), fixedWidth(field('x'), 32), fixedWidth(field('y'), 32)])
      return writer.string('nistp256').string(point)
    }
    case 'ssh-rsa':
      if (jwk.kty !== 'RSA') throw new TypeError('not an RSA key')
      return writer.mpint(field('e')).mpint(field('n'))
  }
}

/** The SSH public key blob of a node:crypto key (public or private). */
export function encodePublicKeyBlob(type: PublicKeyType, key: KeyObject): Buffer {
  return writePublicKeyFields(new SshWriter().string(type), type, key).toBuffer()
}

/** The SSH key type of a node:crypto key, or null when it is not one we generate and sign with. */
export function keyTypeOf(key: KeyObject): KeyType | null {
  if (key.asymmetricKeyType === 'ed25519') return 'ssh-ed25519'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-sha2-nistp256'
  return null
}
