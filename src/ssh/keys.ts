// CONTRACT STUB — to be implemented (issue 2). Signatures are fixed; other code builds against them.
import type { KeyObject } from 'node:crypto'

export type KeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256'

/** A parsed public key: its wire blob is the canonical form. */
export interface SshPublicKey {
  type: KeyType
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

/** A new key pair from node:crypto (Ed25519 by default). */
export declare function generateKeyPair(type?: KeyType, comment?: string): SshKeyPair
/** openssh-key-v1 PEM text ("-----BEGIN OPENSSH PRIVATE KEY-----"), unencrypted, as ssh-keygen writes it. */
export declare function encodePrivateKey(pair: SshKeyPair, comment?: string): string
/** Reads an unencrypted openssh-key-v1 private key (Ed25519 or ECDSA P-256). Throws SshFormatError. */
export declare function parsePrivateKey(text: string): SshKeyPair
/** `ssh-ed25519 AAAA... comment` (no newline). */
export declare function formatPublicKey(key: SshPublicKey, comment?: string): string
/**
 * Parses and validates one public key line or bare blob: type, lengths, curve point. Rejects DSA, RSA
 * under 2048 bits, certificates offered as keys and garbage with SshFormatError('ERR_INVALID_KEY').
 * RSA of 2048+ bits is accepted only when `allowRsa` is set (the server does not sign RSA keys by default).
 */
export declare function parsePublicKey(text: string | Buffer, options?: { allowRsa?: boolean }): SshPublicKey
/** `SHA256:base64-without-padding`, exactly as `ssh-keygen -l` prints it. */
export declare function fingerprint(key: SshPublicKey | Buffer): string
/** An SSH signature blob (string algo, string sig) over `data` with this private key. */
export declare function signData(pair: SshKeyPair, data: Buffer): Buffer
/** Verifies an SSH signature blob made by `key` over `data`. */
export declare function verifySignature(key: SshPublicKey, data: Buffer, signature: Buffer): boolean
