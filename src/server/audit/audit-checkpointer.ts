import type { AuditHead, AuditRecord } from '../store/store.js'
import type { CheckpointKey } from './audit-keys.js'
import type { CheckpointSink } from '../http/delivery-queue.js'
import { checkpointLine, signCheckpoint } from './checkpoint.js'

export interface CheckpointSchedule {
  /** A checkpoint after this many events written by this process... */
  everyEvents: number
  /** ...or at this interval while the chain grows. */
  intervalMs: number
}

/** How long shutdown waits for the sinks to take the last checkpoint. */
export const CLOSE_TIMEOUT_MS = 5_000

/**
 * Signs checkpoints of the chain's head and hands them to the sinks: every `everyEvents` events, every
 * `intervalMs` when there is something new, and at shutdown. It signs only rows this process sealed itself
 * (AuditLog.onRecorded), never a head read back from the database, so it cannot be made to vouch for a row
 * someone else put there. With several replicas each one checkpoints the rows it wrote: all are one chain.
 */
export class AuditCheckpointer {
  private latest: AuditHead | undefined
  private checkpointedSeq = 0
  private sinceLast = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly key: CheckpointKey,
    readonly sinks: readonly CheckpointSink[],
    private readonly schedule: CheckpointSchedule,
    private readonly now: () => number,
  ) {}

  /** One event is in the chain (hooked to AuditLog.onRecorded). */
  recorded(record: AuditRecord): void {
    if (!this.latest || record.seq > this.latest.seq) this.latest = { seq: record.seq, hash: record.hash }
    if (++this.sinceLast >= this.schedule.everyEvents) this.checkpoint()
  }

  start(): void {
    this.timer = setInterval(() => this.checkpoint(), this.schedule.intervalMs).unref()
  }

  /** Signs the newest row seen, unless it was checkpointed already, and sends it to every sink. */
  checkpoint(): void {
    const head = this.latest
    this.sinceLast = 0
    if (!head || head.seq <= this.checkpointedSeq) return
    this.checkpointedSeq = head.seq
    const line = checkpointLine(signCheckpoint(head, this.now(), this.key))
    for (const sink of this.sinks) sink.send(line)
  }

  /** The last checkpoint, then the sinks deliver what they hold (for at most `timeoutMs`). */
  async stop(timeoutMs = CLOSE_TIMEOUT_MS): Promise<void> {
    clearInterval(this.timer)
    this.checkpoint()
    await Promise.all(this.sinks.map((sink) => sink.close(timeoutMs)))
  }
}
