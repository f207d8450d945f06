import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { existsSync, linkSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { JitsshError } from '../../shared/errors.js'
import { readEd25519KeyFile, readSecretFile } from '../ca/server-keys.js'
import type { AuditStore } from '../store/store.js'
import { hashKind } from './audit-chain.js'

/** File names inside keys_dir. */
export const AUDIT_KEY_FILES = {
  /** 32 random bytes: the HMAC key of the audit chain. */
  chain: 'audit_key',
  /** Ed25519 (PKCS#8 PEM): signs the checkpoints of the chain's head. */
  checkpoint: 'audit_checkpoint_key.pem',
  /** Its public key (SPKI PEM), for whoever checks checkpoints elsewhere (a SIEM). */
  checkpointPublic: 'audit_checkpoint_key.pub.pem',
} as const

const CHAIN_KEY_BYTES = 32

/** The audit chain's HMAC key and a short public id of it (which key sealed a row, without revealing it). */
export interface AuditChainKey {
  secret: Buffer
  /** 16 hex digits of SHA-256 over a label and the key. */
  id: string
}

/**
 * Signs checkpoints. A key of its own rather than the token-signing key: a checkpoint signature can then
 * never be taken for an access token's (or the other way round), and either key can be replaced without the
 * other (replacing the token key logs everyone out; old checkpoints must stay checkable).
 */
export interface CheckpointKey {
  privateKey: KeyObject
  publicKey: KeyObject
  /** 16 hex digits of SHA-256 over the public key (SPKI DER). */
  id: string
}

export interface AuditKeys {
  chain: AuditChainKey
  checkpoint: CheckpointKey
}

export function chainKeyOf(secret: Buffer): AuditChainKey {
  return { secret, id: createHash('sha256').update('jitssh audit key id\0').update(secret).digest('hex').slice(0, 16) }
}

export function checkpointKeyOf(privateKey: KeyObject): CheckpointKey {
  const publicKey = createPublicKey(privateKey)
  return { privateKey, publicKey, id: createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16) }
}

/**
 * Writes `bytes` to `path` (mode `mode`) unless a file is there already, atomically: another process doing
 * the same at the same moment (a second replica on a shared keys_dir) either wins or sees ours, never half a
 * file. True when this call wrote it.
 */
function createOnce(path: string, bytes: Buffer | string, mode: number): boolean {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    writeFileSync(temp, bytes, { mode, flag: 'wx' })
    linkSync(temp, path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new JitsshError('ERR_INVALID_CONFIG', `${path}: cannot create the key file (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  } finally {
    rmSync(temp, { force: true })
  }
}

function newCheckpointKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
}

function writeCheckpointPublicKey(keysDir: string, privatePem: Buffer | string): void {
  const publicPem = createPublicKey(createPrivateKey(privatePem)).export({ format: 'pem', type: 'spki' }) as string
  writeFileSync(join(keysDir, AUDIT_KEY_FILES.checkpointPublic), publicPem, { mode: 0o644 })
}

/** Writes both audit keys (0600) for `jitssh-server init`; refuses when either exists. */
export function generateAuditKeys(keysDir: string): string[] {
  const chain = join(keysDir, AUDIT_KEY_FILES.chain)
  const checkpoint = join(keysDir, AUDIT_KEY_FILES.checkpoint)
  const existing = [chain, checkpoint].find((path) => existsSync(path))
  if (existing) throw new JitsshError('ERR_CONFIG_CONFLICT', `${existing} already exists: refusing to overwrite keys`)
  const pem = newCheckpointKeyPem()
  writeFileSync(chain, randomBytes(CHAIN_KEY_BYTES), { mode: 0o600, flag: 'wx' })
  writeFileSync(checkpoint, pem, { mode: 0o600, flag: 'wx' })
  writeCheckpointPublicKey(keysDir, pem)
  return [chain, checkpoint, join(keysDir, AUDIT_KEY_FILES.checkpointPublic)]
}

/**
 * The audit keys from keys_dir. One that is missing (keys_dir from before audit keys existed) is created
 * once, 0600, and `onCreated` is told its path so the caller can log it; files with open permissions, or
 * of the wrong kind, are refused.
 */
export function loadAuditKeys(keysDir: string, onCreated: (path: string) => void): AuditKeys {
  const chainPath = join(keysDir, AUDIT_KEY_FILES.chain)
  if (!existsSync(chainPath) && createOnce(chainPath, randomBytes(CHAIN_KEY_BYTES), 0o600)) onCreated(chainPath)
  const secret = readSecretFile(chainPath)
  if (secret.length !== CHAIN_KEY_BYTES) throw new JitsshError('ERR_INVALID_CONFIG', `${chainPath}: expected ${CHAIN_KEY_BYTES} bytes, found ${secret.length}`)

  const checkpointPath = join(keysDir, AUDIT_KEY_FILES.checkpoint)
  if (!existsSync(checkpointPath)) {
    const pem = newCheckpointKeyPem()
    if (createOnce(checkpointPath, pem, 0o600)) {
      writeCheckpointPublicKey(keysDir, pem)
      onCreated(checkpointPath)
    }
  }
  return { chain: chainKeyOf(secret), checkpoint: checkpointKeyOf(readEd25519KeyFile(checkpointPath, 'the checkpoint key')) }
}

/**
 * Refuses to append with `key` when the chain's newest row was sealed with another chain key: every row this
 * process wrote would fail verification. That happens when a replica's keys_dir lacks the shared audit_key
 * and it made its own, or keys_dir was restored without it.
 */
export async function assertSameChainKey(audit: Pick<AuditStore, 'head'>, key: AuditChainKey, keysDir: string): Promise<void> {
  const head = await audit.head()
  const kind = head && hashKind(head.hash)
  if (head && kind?.keyed && kind.keyId !== key.id) {
    throw new JitsshError('ERR_INVALID_CONFIG', `${join(keysDir, AUDIT_KEY_FILES.chain)}: this is audit key ${key.id}, but the newest audit row (seq ${head.seq}) was sealed with audit key ${kind.keyId}`, {
      hint: 'every replica needs the same keys_dir: copy audit_key from where the chain was written (a new key would break the chain)',
    })
  }
}
