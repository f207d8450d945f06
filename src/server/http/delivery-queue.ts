import { setTimeout as sleep } from 'node:timers/promises'

/** Where a line goes (a file, an HTTP receiver, a stream): audit checkpoints, webhook deliveries. */
export interface CheckpointSink {
  readonly name: string
  /** Hands a line over; never blocks the caller and never throws. */
  send(line: string): void
  /** Delivers what is queued within `timeoutMs`, then stops. */
  close(timeoutMs: number): Promise<void>
  readonly counts: DeliveryCounts
}

export interface DeliveryCounts {
  delivered: number
  /** Dropped unsent: the queue was full, a line failed `maxAttempts` times, or the sink was closed with lines waiting. */
  dropped: number
  /** Failed attempts (each is retried). */
  failures: number
}

export interface DeliveryOptions {
  name: string
  /** Names the sink in problem messages; default `audit checkpoints: the <name> sink`. */
  label?: string
  /** A line that failed this many times is dropped (default: retried until the queue closes). */
  maxAttempts?: number
  /** Lines waiting beyond this many are dropped, oldest first (for checkpoints, a newer one covers an older one's rows). */
  maxQueue: number
  /** Sends one line; rejects to be retried. Must give up when `signal` aborts. */
  deliver: (line: string, signal: AbortSignal) => Promise<void>
  /** Told of each failure and of lines dropped (the caller samples it into the log). */
  onProblem: (message: string, fields: Record<string, unknown>) => void
  backoff?: { initialMs: number; maxMs: number }
}

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 60_000 }

/**
 * One line in flight at a time, the rest in a bounded queue; a failed line is retried after a delay that
 * doubles up to a ceiling (with jitter), while newer lines wait behind it. A sink that is slow or dead
 * therefore costs at most `maxQueue` lines of memory and never the caller's time.
 */
export class DeliveryQueue implements CheckpointSink {
  readonly name: string
  readonly counts: DeliveryCounts = { delivered: 0, dropped: 0, failures: 0 }
  private readonly queue: string[] = []
  private readonly abort = new AbortController()
  /** Rejects when the queue is closed: a delivery that ignores its signal (a stalled write) is not waited for. */
  private readonly aborted = new Promise<never>((_resolve, reject) => this.abort.signal.addEventListener('abort', () => reject(new Error('closed')), { once: true }))
  private pumping: Promise<void> | undefined
  private closed = false

  private readonly label: string

  constructor(private readonly options: DeliveryOptions) {
    this.name = options.name
    this.label = options.label ?? `audit checkpoints: the ${options.name} sink`
    this.aborted.catch(() => undefined)
  }

  get waiting(): number {
    return this.queue.length
  }

  send(line: string): void {
    if (this.closed) return
    if (this.queue.length >= this.options.maxQueue) {
      this.queue.shift()
      this.counts.dropped++
      this.options.onProblem(`${this.label} is behind; dropped the oldest waiting line`, { sink: this.name, queue: this.options.maxQueue })
    }
    this.queue.push(line)
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined))
  }

  private async pump(): Promise<void> {
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF
    let delay = backoff.initialMs
    let line: string | undefined
    let attempts = 0
    while ((line ??= this.queue.shift()) !== undefined && !this.abort.signal.aborted) {
      try {
        attempts++
        await Promise.race([this.options.deliver(line, this.abort.signal), this.aborted])
        this.counts.delivered++
        line = undefined
        attempts = 0
        delay = backoff.initialMs
      } catch (error) {
        if (this.abort.signal.aborted) break
        this.counts.failures++
        if (this.options.maxAttempts !== undefined && attempts >= this.options.maxAttempts) {
          this.counts.dropped++
          this.options.onProblem(`${this.label} failed ${attempts} times; gave up on one line`, { sink: this.name, error: describe(error), waiting: this.queue.length })
          line = undefined
          attempts = 0
          delay = backoff.initialMs
          continue
        }
        this.options.onProblem(`${this.label} failed; retrying with backoff`, { sink: this.name, error: describe(error), waiting: this.queue.length + 1 })
        await sleep(delay * (0.75 + Math.random() / 2), undefined, { signal: this.abort.signal, ref: false }).catch(() => undefined)
        delay = Math.min(delay * 2, backoff.maxMs)
      }
    }
    if (line !== undefined) this.queue.unshift(line)
  }

  async close(timeoutMs: number): Promise<void> {
    this.closed = true
    const deadline = new AbortController()
    if (this.pumping) await Promise.race([this.pumping, sleep(timeoutMs, undefined, { signal: deadline.signal, ref: false }).catch(() => undefined)])
    deadline.abort()
    this.abort.abort()
    await this.pumping
    if (this.queue.length > 0) {
      this.counts.dropped += this.queue.length
      this.options.onProblem(`${this.label} was closed with lines undelivered`, { sink: this.name, undelivered: this.queue.length })
      this.queue.length = 0
    }
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause?.code
  return typeof cause === 'string' ? cause : error instanceof Error ? error.message : String(error)
}
