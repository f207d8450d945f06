import { createHash } from 'node:crypto'
import type { AuditDraft, AuditRecord } from '../store/rows.js'

/** prev_hash of the first event. */
export const GENESIS_HASH = '0'.repeat(64)

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

/**
 * hash = SHA-256 (hex) of the canonical encoding of every column and the previous row's hash:
 * `[seq, time, type, user, session_id, host, outcome, detail, prev_hash]` as canonical JSON.
 */
export function auditHash(record: Omit<AuditRecord, 'hash'>): string {
  const encoded = canonicalJson([
    record.seq, record.time, record.type, record.user, record.sessionId, record.host, record.outcome, record.detail, record.prevHash,
  ])
  return createHash('sha256').update(encoded).digest('hex')
}

/** The next record of the chain after `previous` (undefined for the first). */
export function sealAuditRecord(draft: AuditDraft, previous: { seq: number; hash: string } | undefined, now: number): AuditRecord {
  const unsealed = {
    ...draft,
    detail: JSON.parse(canonicalJson(draft.detail)) as Record<string, unknown>,
    seq: (previous?.seq ?? 0) + 1,
    time: new Date(now).toISOString(),
    prevHash: previous?.hash ?? GENESIS_HASH,
  }
  return { ...unsealed, hash: auditHash(unsealed) }
}

export interface ChainProblem {
  seq: number
  problem: string
}

/**
 * Checks records in seq order, continuing from `previous`. Returns the first problem: a row whose content
 * no longer matches its hash (edited), a prev_hash that does not match the row before (inserted, deleted or
 * reordered), or a gap in seq.
 */
export function checkAuditChain(records: AuditRecord[], previous: { seq: number; hash: string } | undefined): ChainProblem | undefined {
  let prev = previous
  for (const record of records) {
    const expectedSeq = (prev?.seq ?? 0) + 1
    if (record.seq !== expectedSeq) return { seq: record.seq, problem: `expected seq ${expectedSeq} next, found ${record.seq}: rows are missing` }
    if (record.prevHash !== (prev?.hash ?? GENESIS_HASH)) {
      return { seq: record.seq, problem: `prev_hash does not match the hash of seq ${expectedSeq - 1}: that row was altered and re-hashed, or rows were removed` }
    }
    if (auditHash(record) !== record.hash) {
      return { seq: record.seq, problem: `content does not match its hash: the row (${record.type} at ${record.time}) was altered` }
    }
    prev = record
  }
  return undefined
}
