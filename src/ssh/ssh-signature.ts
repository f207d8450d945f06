// SSH signature blobs: `string algorithm, string signature` (RFC 4253 §6.6, RFC 5656 §3.1.2, RFC 8709 §6,
// RFC 8332). ECDSA signatures carry `mpint r, mpint s` inside the inner string.
import { sign, verify, type KeyObject } from 'node:crypto'
import { SshFormatError } from './errors.js'
import type { KeyType, SshPublicKey } from './keys.js'
import { SshReader, SshWriter, fixedWidth } from './wire.js'

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
/** SHA-1 `ssh-rsa` signatures are never accepted. */
const RSA_HASHES: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512' }

export function signSshData(type: KeyType, privateKey: KeyObject, data: Buffer): Buffer {
  // Ed25519 and ECDSA P-256 keys each have exactly one signature algorithm, named like the key type.
  const out = new SshWriter().string(type)
  if (type === 'ssh-ed25519') return out.string(sign(null, data, privateKey)).toBuffer()
  const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
  const rs = new SshWriter().mpint(raw.subarray(0, 32)).mpint(raw.subarray(32, 64)).toBuffer()
  return out.string(rs).toBuffer()
}

/**
 * Verifies `signature` (an SSH signature blob) by `key` over `data`. The algorithm must belong to the
 * key type; malformed blobs, trailing bytes and out-of-range ECDSA values verify as false.
 */
export function verifySshSignature(key: SshPublicKey, data: Buffer, signature: Buffer): boolean {
  try {
    const reader = new SshReader(signature, 'ERR_INVALID_KEY', 'signature')
    const algorithm = reader.text('signature algorithm')
    const body = reader.string('signature')
    reader.end()
    switch (key.type) {
      case 'ssh-ed25519':
        return algorithm === 'ssh-ed25519' && body.length === 64 && verify(null, data, key.key, body)
      case 'ecdsa-sha2-nistp256': {
        if (algorithm !== 'ecdsa-sha2-nistp256') return false
        const inner = new SshReader(body, 'ERR_INVALID_KEY', 'ECDSA signature')
        const r = inner.mpint('r')
        const s = inner.mpint('s')
        inner.end()
        if (!inScalarRange(r) || !inScalarRange(s)) return false
        const raw = Buffer.concat([fixedWidth(r, 32), fixedWidth(s, 32)])
        return verify('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' }, raw)
      }
      case 'ssh-rsa': {
        const hash = RSA_HASHES[algorithm]
        const modulusBytes = Math.ceil((key.key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
        if (!hash || body.length === 0 || body.length > modulusBytes) return false
        return verify(hash, data, key.key, fixedWidth(body, modulusBytes))
      }
    }
  } catch (error) {
    if (error instanceof SshFormatError) return false
    throw error
  }
}

function inScalarRange(magnitude: Buffer): boolean {
  if (magnitude.length === 0 || magnitude.length > 32) return false
  const value = BigInt(`0x${magnitude.toString('hex')}`)
  return value > 0n && value < P256_ORDER
}
