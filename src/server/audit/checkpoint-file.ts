import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { JitsshError } from '../../shared/errors.js'
import type { CheckpointKey } from './audit-keys.js'
import { CHECKPOINT_TYPE, readCheckpoint, type Checkpoint } from './checkpoint.js'

/** A checkpoint whose signature verified, and where it was read (`file:line`). */
export interface CheckpointAt {
  checkpoint: Checkpoint
  where: string
}

export interface RefusedCheckpoint {
  where: string
  seq: number | undefined
  reason: string
}

export interface CheckpointSet {
  /** One verified checkpoint per seq (the first read; replicas may sign the same head). */
  bySeq: Map<number, CheckpointAt>
  refused: RefusedCheckpoint[]
}

/**
 * Reads a JSON-lines file of checkpoints (the file sink's, or lines saved from the stdout stream or an HTTP
 * receiver), line by line. Lines of other types are skipped (a SIEM export may mix them in); a checkpoint
 * line that does not verify is refused. Undefined when the file does not exist.
 */
export async function readCheckpointFile(path: string, key: Pick<CheckpointKey, 'publicKey' | 'id'>): Promise<CheckpointSet | undefined> {
  const set: CheckpointSet = { bySeq: new Map(), refused: [] }
  const stream = createReadStream(path, { encoding: 'utf8' })
  const opened = new Promise<boolean>((resolve, reject) => {
    stream.once('open', () => resolve(true))
    stream.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve(false) : reject(error)))
  })
  try {
    if (!(await opened)) return undefined
  } catch (error) {
    throw new JitsshError('ERR_INVALID_CONFIG', `${path}: cannot read the checkpoint file (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let number = 0
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    number++
    if (line.trim() === '' || !line.includes(CHECKPOINT_TYPE)) continue
    const read = readCheckpoint(line, key)
    const where = `${path}:${number}`
    if (!read.ok) set.refused.push({ where, seq: read.seq, reason: read.reason })
    else if (!set.bySeq.has(read.checkpoint.seq)) set.bySeq.set(read.checkpoint.seq, { checkpoint: read.checkpoint, where })
  }
  return set
}
