import type { AuditStore } from '../store/store.js'
import { checkAuditChain, type ChainPosition, type ChainProblem } from './audit-chain.js'
import type { AuditChainKey } from './audit-keys.js'
import type { CheckpointAt, CheckpointSet } from './checkpoint-file.js'

export interface AuditVerification {
  /** Rows in the chain. */
  events: number
  /** Rows verified before the first problem (all of them when there is none). */
  verified: number
  /** The first keyed row (earlier rows are plain SHA-256, written before the chain was keyed). */
  keyedFrom: number | undefined
  lastSeq: number
  /** The first break in the chain, then what the checkpoints disagree with; empty when all holds. */
  problems: ChainProblem[]
  /** Checkpoints that agree with the chain, and the newest of them. */
  checkpointsMatched: number
  newestCheckpoint: CheckpointAt | undefined
}

const short = (hash: string): string => (hash.length > 16 ? `…${hash.slice(-12)}` : hash)

/**
 * Walks the whole chain in pages: checks every row's link and keyed hash up to the first break (after it
 * nothing can be trusted, so only the hashes are read on), and compares the rows with the signed
 * checkpoints: a checkpoint beyond the last row means rows were cut off the end; one whose row now has
 * another hash means the row was rewritten (possible only with the key, which checkpoints survive).
 */
export async function verifyAuditChain(
  store: { audit: Pick<AuditStore, 'read'> },
  key: AuditChainKey,
  checkpoints: CheckpointSet = { bySeq: new Map(), refused: [] },
  pageSize = 1000,
): Promise<AuditVerification> {
  const position: ChainPosition = { previous: undefined, keyedFrom: undefined }
  let events = 0
  let verified = 0
  let chainProblem: ChainProblem | undefined
  let lastSeq = 0
  const differing: Array<{ at: CheckpointAt; hash: string }> = []
  let matched = 0
  let newestMatched: CheckpointAt | undefined
  for (;;) {
    const page = await store.audit.read(lastSeq, pageSize)
    if (page.length === 0) break
    if (!chainProblem) {
      const checked = checkAuditChain(page, position, key)
      verified += checked.verified
      chainProblem = checked.problem
    }
    for (const record of page) {
      const at = checkpoints.bySeq.get(record.seq)
      if (at && at.checkpoint.hash === record.hash) {
        matched++
        newestMatched = at
      } else if (at) differing.push({ at, hash: record.hash })
    }
    events += page.length
    lastSeq = page[page.length - 1]!.seq
  }

  const problems: ChainProblem[] = chainProblem ? [chainProblem] : []
  const first = differing[0]
  if (first) {
    const others = differing.length > 1 ? ` (${differing.length - 1} later checkpoints differ too)` : ''
    problems.push({
      seq: first.at.checkpoint.seq,
      problem: `the row differs from the checkpoint signed at ${first.at.checkpoint.time} (${first.at.where}): its hash is ${short(first.hash)}, the checkpoint says ${short(first.at.checkpoint.hash)}: the row was rewritten after it was checkpointed${others}`,
    })
  }
  const beyond = [...checkpoints.bySeq.values()].filter((at) => at.checkpoint.seq > lastSeq).sort((a, b) => b.checkpoint.seq - a.checkpoint.seq)
  const newest = beyond[0]
  if (newest) {
    const others = beyond.length > 1 ? ` (${beyond.length} checkpoints lie beyond it)` : ''
    problems.push({
      seq: newest.checkpoint.seq,
      problem: `rows are missing from the end: the checkpoint signed at ${newest.checkpoint.time} (${newest.where}) names seq ${newest.checkpoint.seq}, but ${lastSeq === 0 ? 'there are no rows' : `the last row is seq ${lastSeq}`}${others}`,
    })
  }
  return { events, verified, keyedFrom: position.keyedFrom, lastSeq, problems, checkpointsMatched: matched, newestCheckpoint: newestMatched }
}
