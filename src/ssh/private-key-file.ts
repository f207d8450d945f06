// openssh-key-v1 private key files (OpenSSH PROTOCOL.key), unencrypted ("none" cipher), one key,
// written byte-for-byte the way ssh-keygen writes them.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import { SshFormatError } from './errors.js'
import type { KeyType, SshKeyPair } from './keys.js'
import { decodeStrictBase64 } from './key-line.js'
import { decodePublicKeyBlob, encodePublicKeyBlob, writePublicKeyFields } from './public-key-blob.js'
import { SshReader, SshWriter, fixedWidth } from './wire.js'

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1')
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----'
const END = '-----END OPENSSH PRIVATE KEY-----'
/** ssh-keygen wraps the base64 body at 70 columns. */
const LINE_WIDTH = 70
/** The "none" cipher pads the private section to 8-byte blocks. */
const BLOCK_SIZE = 8
const MAX_FILE_CHARS = 64 * 1024

function jwkField(key: KeyObject, name: 'd' | 'x'): Buffer {
  const value = (key.export({ format: 'jwk' }) as Record<string, unknown>)[name]
  if (typeof value !== 'string') throw new TypeError(`private key has no JWK "${name}"`)
  return Buffer.from(value, 'base64url')
}

export function encodeOpensshPrivateKey(pair: SshKeyPair, comment: string): string {
  const publicBlob = encodePublicKeyBlob(pair.type, pair.privateKey)
  const checkint = randomBytes(4).readUInt32BE(0)
  const secret = new SshWriter().uint32(checkint).uint32(checkint).string(pair.type)
  writePublicKeyFields(secret, pair.type, pair.privateKey)
  if (pair.type === 'ssh-ed25519') {
    // OpenSSH stores the 64-byte "secret key": seed followed by the public key.
    secret.string(Buffer.concat([jwkField(pair.privateKey, 'd'), jwkField(pair.privateKey, 'x')]))
  } else {
    secret.mpint(jwkField(pair.privateKey, 'd'))
  }
  secret.string(comment)
  let section = secret.toBuffer()
  const padding = (BLOCK_SIZE - (section.length % BLOCK_SIZE)) % BLOCK_SIZE
  section = Buffer.concat([section, Buffer.from(Array.from({ length: padding }, (_, i) => i + 1))])

  const body = new SshWriter().raw(MAGIC).string('none').string('none').string('').uint32(1)
  body.string(publicBlob).string(section)
  const base64 = body.toBuffer().toString('base64')
  const lines = base64.match(new RegExp(`.{1,${LINE_WIDTH}}`, 'g')) ?? []
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`
}

export function parseOpensshPrivateKey(text: string): SshKeyPair {
  const fail = (reason: string): never => {
    throw new SshFormatError('ERR_INVALID_KEY', `invalid private key: ${reason}`)
  }
  if (text.length > MAX_FILE_CHARS) fail('file too large')
  const lines = text.trim().split(/\r?\n/)
  if (lines[0] !== BEGIN || lines[lines.length - 1] !== END) fail('not an OpenSSH private key (expected BEGIN OPENSSH PRIVATE KEY)')
  const bytes = decodeStrictBase64(lines.slice(1, -1).map((line) => line.trim()).join(''))
  if (!bytes) return fail('the body is not valid base64')

  const reader = new SshReader(bytes, 'ERR_INVALID_KEY', 'private key')
  if (reader.remaining < MAGIC.length || !reader.bytes(MAGIC.length, 'magic').equals(MAGIC)) reader.fail('missing openssh-key-v1 magic')
  const cipher = reader.text('cipher name')
  const kdf = reader.text('KDF name')
  reader.string('KDF options')
  if (cipher !== 'none' || kdf !== 'none') reader.fail('encrypted private keys are not supported (remove the passphrase with ssh-keygen -p)')
  if (reader.uint32('key count') !== 1) reader.fail('expected exactly one key')
  const publicBlob = reader.string('public key')
  const section = reader.string('private section')
  reader.end()
  const publicKey = decodePublicKeyBlob(publicBlob)
  if (publicKey.type === 'ssh-rsa') return reader.fail('RSA private keys are not supported')
  const type: KeyType = publicKey.type

  if (section.length % BLOCK_SIZE !== 0) reader.fail('private section is not padded to the block size')
  const secret = new SshReader(section, 'ERR_INVALID_KEY', 'private key')
  if (secret.uint32('checkint') !== secret.uint32('checkint')) secret.fail('checkints differ (wrong passphrase or corrupt file)')
  if (secret.text('key type') !== type) secret.fail('private key type does not match the public key')
  const privateKey = type === 'ssh-ed25519' ? readEd25519Secret(secret, publicBlob) : readEcdsaSecret(secret, publicBlob)
  const comment = secret.text('comment')
  const padding = section.subarray(section.length - secret.remaining)
  if (padding.length >= BLOCK_SIZE || padding.some((byte, i) => byte !== i + 1)) secret.fail('bad padding')

  if (!encodePublicKeyBlob(type, privateKey).equals(publicBlob)) secret.fail('private key does not match its public key')
  return { type, publicKey: { ...publicKey, comment }, privateKey }
}

function readEd25519Secret(secret: SshReader, publicBlob: Buffer): KeyObject {
  const pk = secret.string('Ed25519 public key')
  const sk = secret.string('Ed25519 secret key')
  if (pk.length !== 32 || sk.length !== 64) secret.fail('Ed25519 key lengths are wrong')
  if (!new SshWriter().string('ssh-ed25519').string(pk).toBuffer().equals(publicBlob)) secret.fail('private section holds a different public key')
  if (!sk.subarray(32).equals(pk)) secret.fail('Ed25519 secret key does not end with its public key')
  const key = importPrivate(secret, { kty: 'OKP', crv: 'Ed25519', d: sk.subarray(0, 32).toString('base64url'), x: pk.toString('base64url') })
  // node:crypto ignores a mismatched "x"; derive the public key from the seed and compare.
  if (!encodePublicKeyBlob('ssh-ed25519', createPublicKey(key)).equals(publicBlob)) secret.fail('Ed25519 seed does not match its public key')
  return key
}

function readEcdsaSecret(secret: SshReader, publicBlob: Buffer): KeyObject {
  if (secret.text('curve name') !== 'nistp256') secret.fail('curve name does not match')
  const point = secret.string('EC point')
  const d = secret.mpint('EC private scalar')
  if (point.length !== 65 || d.length === 0 || d.length > 32) secret.fail('EC key lengths are wrong')
  const expectedBlob = new SshWriter().string('ecdsa-sha2-nistp256').string('nistp256').string(point).toBuffer()
  if (!expectedBlob.equals(publicBlob)) secret.fail('private section holds a different public key')
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
    d: fixedWidth(d, 32).toString('base64url'),
  }
  const key = importPrivate(secret, jwk)
  if (!encodePublicKeyBlob('ecdsa-sha2-nistp256', createPublicKey(key)).equals(publicBlob)) secret.fail('EC scalar does not match its public key')
  return key
}

function importPrivate(reader: SshReader, jwk: Record<string, string>): KeyObject {
  try {
    return createPrivateKey({ key: jwk, format: 'jwk' })
  } catch {
    return reader.fail('node:crypto rejected the private key')
  }
}
