import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { AuditDraft, AuditHead, AuditRecord } from '../store/store.js'
import type { AuditChainKey } from './audit-keys.js'

/** prev_hash of the first event. */
export const GENESIS_HASH = '0'.repeat(64)

/** Keyed hashes are `hmac-sha256:<key id>:<64 hex>`; rows written before the chain was keyed are 64 hex (SHA-256). */
const KEYED_PREFIX = 'hmac-sha256:'
const KEYED_HASH = /^hmac-sha256:([0-9a-f]{16}):([0-9a-f]{64})$/
/** The first element of every keyed tuple: a keyed hash can never equal a plain one of the same columns. */
const KEYED_VERSION = 'jitssh.audit.v2'

/** JSON with object keys sorted at every depth: the same value always encodes to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
    return `{${entries.join(',')}}`
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString())
  return JSON.stringify(value ?? null)
}

/** Every column and the previous row's hash, in order: what both hash versions cover. */
function hashedColumns(record: Omit<AuditRecord, 'hash'>): unknown[] {
  return [record.seq, record.time, record.type, record.user, record.sessionId, record.host, record.outcome, record.detail, record.prevHash]
}

/**
 * The hash of rows written before the chain was keyed: SHA-256 (hex) of the canonical JSON of
 * `[seq, time, type, user, session_id, host, outcome, detail, prev_hash]`. Anyone can recompute it.
 */
export function plainAuditHash(record: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(hashedColumns(record))).digest('hex')
}

/**
 * The hash of every row written now: HMAC-SHA256 under keys_dir/audit_key of the canonical JSON of
 * `["jitssh.audit.v2", seq, time, type, user, session_id, host, outcome, detail, prev_hash]`, as
 * `hmac-sha256:<key id>:<hex>`. Without the key nobody can make a row, or re-link a chain, that verifies.
 */
export function keyedAuditHash(record: Omit<AuditRecord, 'hash'>, key: AuditChainKey): string {
  const mac = createHmac('sha256', key.secret).update(canonicalJson([KEYED_VERSION, ...hashedColumns(record)])).digest('hex')
  return `${KEYED_PREFIX}${key.id}:${mac}`
}

/** How a row of the chain is sealed: a keyed hash (with the id of its key) or a plain SHA-256 one. */
export function hashKind(hash: string): { keyed: true; keyId: string } | { keyed: false } {
  const match = KEYED_HASH.exec(hash)
  return match ? { keyed: true, keyId: match[1]! } : { keyed: false }
}

/**
 * Text as the database gives it back: UTF-8 has no lone surrogates, so both dialects store each as U+FFFD.
 * The seal must cover those stored bytes, or `audit verify` would call the row altered.
 */
const asStored = <T extends string | null>(text: T): T => (text === null ? text : (text.replace(/\p{Cs}/gu, '\ufffd') as T))

/** The next record of the chain after `previous` (undefined for the first), sealed with `key`. */
export function sealAuditRecord(draft: AuditDraft, previous: AuditHead | undefined, now: number, key: AuditChainKey): AuditRecord {
  const unsealed = {
    ...draft,
    type: asStored(draft.type),
    user: asStored(draft.user),
    sessionId: asStored(draft.sessionId),
    host: asStored(draft.host),
    detail: JSON.parse(canonicalJson(draft.detail)) as Record<string, unknown>,
    seq: (previous?.seq ?? 0) + 1,
    time: new Date(now).toISOString(),
    prevHash: previous?.hash ?? GENESIS_HASH,
  }
  return { ...unsealed, hash: keyedAuditHash(unsealed, key) }
}

export interface ChainProblem {
  seq: number
  problem: string
}

/** Where a walk over the chain stands: the last row checked, and the first keyed row seen (from then on every row must be keyed). */
export interface ChainPosition {
  previous: AuditHead | undefined
  keyedFrom: number | undefined
}

const sameText = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** What is wrong with one row's own hash, or undefined. */
function hashProblem(record: AuditRecord, position: ChainPosition, key: AuditChainKey): string | undefined {
  const where = `the row (${record.type} at ${record.time})`
  const kind = hashKind(record.hash)
  if (!kind.keyed) {
    if (position.keyedFrom !== undefined) {
      return `a plain SHA-256 row after keyed rows (keyed from seq ${position.keyedFrom}): ${where} was written or re-hashed by someone without the audit key`
    }
    return plainAuditHash(record) === record.hash ? undefined : `content does not match its hash: ${where} was altered`
  }
  if (kind.keyId !== key.id) return `sealed with another audit key (id ${kind.keyId}; keys_dir/audit_key is ${key.id}): ${where} was forged, or keys_dir holds the wrong key`
  return sameText(keyedAuditHash(record, key), record.hash) ? undefined : `content does not match its keyed hash: ${where} was altered, or re-hashed without the audit key`
}

/**
 * Checks records in seq order, continuing from `position` (which it advances). Returns the first problem
 * and how many of `records` verified before it: a gap in seq (rows removed), a prev_hash that does not
 * match the row before (inserted, deleted or reordered), a row whose content no longer matches its hash,
 * a keyed row that does not verify under `key`, or a plain row after a keyed one.
 */
export function checkAuditChain(records: AuditRecord[], position: ChainPosition, key: AuditChainKey): { verified: number; problem: ChainProblem | undefined } {
  for (const [index, record] of records.entries()) {
    const expectedSeq = (position.previous?.seq ?? 0) + 1
    let problem: string | undefined
    if (record.seq !== expectedSeq) problem = `expected seq ${expectedSeq} next, found ${record.seq}: rows are missing`
    else if (record.prevHash !== (position.previous?.hash ?? GENESIS_HASH)) {
      problem = `prev_hash does not match the hash of seq ${expectedSeq - 1}: that row was altered and re-hashed, or rows were removed`
    } else problem = hashProblem(record, position, key)
    if (problem) return { verified: index, problem: { seq: record.seq, problem } }
    if (position.keyedFrom === undefined && hashKind(record.hash).keyed) position.keyedFrom = record.seq
    position.previous = record
  }
  return { verified: records.length, problem: undefined }
}
