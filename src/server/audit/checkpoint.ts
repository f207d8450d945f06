import { sign, verify } from 'node:crypto'
import type { AuditHead } from '../store/store.js'
import { canonicalJson } from './audit-chain.js'
import type { CheckpointKey } from './audit-keys.js'

/** `type` of every checkpoint line, so a SIEM reading a mixed stream can pick them out. */
export const CHECKPOINT_TYPE = 'jitssh.audit.checkpoint'

/**
 * A signed statement "the audit chain had this row at seq N, with this hash, at this time", kept outside
 * the database. One JSON object per line; `sig` is Ed25519 (base64url) over the canonical JSON of every
 * other field, with keys_dir/audit_checkpoint_key (`key_id` names it).
 */
export interface Checkpoint {
  type: typeof CHECKPOINT_TYPE
  v: 1
  seq: number
  hash: string
  /** When it was signed (ISO 8601). */
  time: string
  key_id: string
  sig: string
}

export function signCheckpoint(head: AuditHead, now: number, key: CheckpointKey): Checkpoint {
  const unsigned = { type: CHECKPOINT_TYPE as typeof CHECKPOINT_TYPE, v: 1 as const, seq: head.seq, hash: head.hash, time: new Date(now).toISOString(), key_id: key.id }
  return { ...unsigned, sig: sign(null, Buffer.from(canonicalJson(unsigned)), key.privateKey).toString('base64url') }
}

export function checkpointLine(checkpoint: Checkpoint): string {
  return `${JSON.stringify(checkpoint)}\n`
}

/** A checkpoint read back: either one whose signature verifies, or why it is refused (with its seq when it has one). */
export type ReadCheckpoint = { ok: true; checkpoint: Checkpoint } | { ok: false; seq: number | undefined; reason: string }

/** Parses one line and checks its signature against `key` (the public half is enough). */
export function readCheckpoint(line: string, key: Pick<CheckpointKey, 'publicKey' | 'id'>): ReadCheckpoint {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { ok: false, seq: undefined, reason: 'not JSON' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, seq: undefined, reason: 'not a JSON object' }
  const { sig, ...unsigned } = value as Record<string, unknown>
  const seq = typeof unsigned.seq === 'number' && Number.isSafeInteger(unsigned.seq) && unsigned.seq > 0 ? unsigned.seq : undefined
  if (unsigned.type !== CHECKPOINT_TYPE || unsigned.v !== 1 || seq === undefined || typeof unsigned.hash !== 'string' || typeof unsigned.time !== 'string' || typeof sig !== 'string') {
    return { ok: false, seq, reason: `not a ${CHECKPOINT_TYPE} v1 line` }
  }
  if (unsigned.key_id !== key.id) {
    return { ok: false, seq, reason: `signed by another key (id ${String(unsigned.key_id)}; keys_dir/audit_checkpoint_key is ${key.id})` }
  }
  if (!verify(null, Buffer.from(canonicalJson(unsigned)), key.publicKey, Buffer.from(sig, 'base64url'))) {
    return { ok: false, seq, reason: 'the signature does not verify: the checkpoint was forged or altered' }
  }
  return { ok: true, checkpoint: value as Checkpoint }
}
