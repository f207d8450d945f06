/** Writes one log line: JSON fields and a message (pino's `log.warn(fields, message)`). */
export type LogLine = (fields: Record<string, unknown>, message: string) => void

interface KeyState {
  /** When the last line for this key was written (0: never). */
  lastAt: number
  /** Occurrences since that line. */
  count: number
  firstAt: number
  message: string
  fields: Record<string, unknown>
  timer: NodeJS.Timeout | undefined
}

/**
 * A log that says something that may happen thousands of times a second at most once per key per
 * interval: the first occurrence is written at once; later ones are counted and written as one line
 * (`count`, `since`, and the fields of the latest) when the interval is over. Nothing an occurrence costs
 * grows with the rate: one counter per key, at most one timer per key.
 */
export class SampledLog {
  private readonly keys = new Map<string, KeyState>()

  constructor(
    private readonly write: LogLine,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one occurrence under `key` (a small fixed set: a route, a sink). */
  note(key: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = this.now()
    let state = this.keys.get(key)
    if (!state) {
      state = { lastAt: 0, count: 0, firstAt: now, message, fields, timer: undefined }
      this.keys.set(key, state)
    }
    if (state.count === 0) state.firstAt = now
    state.count++
    state.message = message
    state.fields = fields
    if (now - state.lastAt >= this.intervalMs) this.emit(state)
    else state.timer ??= setTimeout(() => this.emit(state), state.lastAt + this.intervalMs - now).unref()
  }

  /** Writes what is still counted (at shutdown) and cancels the timers. */
  flush(): void {
    for (const state of this.keys.values()) if (state.count > 0) this.emit(state)
  }

  private emit(state: KeyState): void {
    clearTimeout(state.timer)
    state.timer = undefined
    if (state.count === 0) return
    this.write({ ...state.fields, count: state.count, since: new Date(state.firstAt).toISOString() }, state.message)
    state.count = 0
    state.lastAt = this.now()
  }
}
