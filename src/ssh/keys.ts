// Ed25519 and ECDSA P-256 keys with node:crypto, in OpenSSH's formats: public key lines and blobs,
// openssh-key-v1 private keys, SHA256 fingerprints and SSH signature blobs.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { SshFormatError } from './errors.js'
import { parseKeyLine } from './key-line.js'
import { encodeOpensshPrivateKey, parseOpensshPrivateKey } from './private-key-file.js'
import { decodePublicKeyBlob, encodePublicKeyBlob } from './public-key-blob.js'
import { signSshData, verifySshSignature } from './ssh-signature.js'

export type KeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256'
/** Key types a parsed public key can have: ours, plus RSA (2048+ bits) when a caller allows it. */
export type PublicKeyType = KeyType | 'ssh-rsa'

/** A parsed public key: its wire blob is the canonical form. */
export interface SshPublicKey {
  type: PublicKeyType
  /** The SSH wire-format public key blob (what is base64 in an authorized_keys line). */
  blob: Buffer
  key: KeyObject
  comment: string
}

export interface SshKeyPair {
  type: KeyType
  publicKey: SshPublicKey
  privateKey: KeyObject
}

/** A public key line is far shorter than this even for a 16384-bit RSA key. */
const MAX_PUBLIC_KEY_LINE = 16 * 1024

function checkComment(comment: string): string {
  if (/[\x00\r\n]/.test(comment)) throw new SshFormatError('ERR_INVALID_KEY', 'invalid key comment: contains a line break or NUL')
  return comment
}

/** A new key pair from node:crypto (Ed25519 by default). */
export function generateKeyPair(type: KeyType = 'ssh-ed25519', comment = ''): SshKeyPair {
  const { publicKey, privateKey } =
    type === 'ssh-ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const blob = encodePublicKeyBlob(type, publicKey)
  return { type, publicKey: { type, blob, key: publicKey, comment: checkComment(comment) }, privateKey }
}

/** openssh-key-v1 PEM text ("-----BEGIN OPENSSH PRIVATE KEY-----"), unencrypted, as ssh-keygen writes it. */
export function encodePrivateKey(pair: SshKeyPair, comment?: string): string {
  return encodeOpensshPrivateKey(pair, checkComment(comment ?? pair.publicKey.comment))
}

/** Reads an unencrypted openssh-key-v1 private key (Ed25519 or ECDSA P-256). Throws SshFormatError. */
export function parsePrivateKey(text: string): SshKeyPair {
  return parseOpensshPrivateKey(text)
}

/** `ssh-ed25519 AAAA... comment` (no newline). */
export function formatPublicKey(key: SshPublicKey, comment?: string): string {
  const text = checkComment(comment ?? key.comment)
  return `${key.type} ${key.blob.toString('base64')}${text ? ` ${text}` : ''}`
}

/**
 * Parses and validates one public key line or bare blob: type, lengths, curve point. Rejects DSA, RSA
 * under 2048 bits, certificates offered as keys and garbage with SshFormatError('ERR_INVALID_KEY').
 * RSA of 2048+ bits is accepted only when `allowRsa` is set (the server does not sign RSA keys by default).
 */
export function parsePublicKey(text: string | Buffer, options?: { allowRsa?: boolean }): SshPublicKey {
  const decodeOptions = { allowRsa: options?.allowRsa === true }
  if (Buffer.isBuffer(text)) return decodePublicKeyBlob(text, decodeOptions)
  const line = parseKeyLine(text, 'ERR_INVALID_KEY', 'public key', MAX_PUBLIC_KEY_LINE)
  if (line.type?.endsWith('-cert-v01@openssh.com')) {
    throw new SshFormatError('ERR_INVALID_KEY', `invalid public key: a certificate (${line.type}) is not a plain public key`)
  }
  const key = decodePublicKeyBlob(line.blob, decodeOptions)
  if (line.type !== null && line.type !== key.type) {
    throw new SshFormatError('ERR_INVALID_KEY', `invalid public key: the line says ${line.type} but the key is ${key.type}`)
  }
  return { ...key, comment: line.comment }
}

/** `SHA256:base64-without-padding`, exactly as `ssh-keygen -l` prints it. */
export function fingerprint(key: SshPublicKey | Buffer): string {
  const blob = Buffer.isBuffer(key) ? key : key.blob
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** An SSH signature blob (string algo, string sig) over `data` with this private key. */
export function signData(pair: SshKeyPair, data: Buffer): Buffer {
  return signSshData(pair.type, pair.privateKey, data)
}

/** Verifies an SSH signature blob made by `key` over `data`. */
export function verifySignature(key: SshPublicKey, data: Buffer, signature: Buffer): boolean {
  return verifySshSignature(key, data, signature)
}
