import type Database from 'better-sqlite3'

interface PendingWrite {
  run: () => unknown
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * Group commit for SQLite: writes queued in the same turn of the event loop run in one IMMEDIATE
 * transaction (one fsync with synchronous=FULL), each inside its own savepoint so one failing write rolls
 * back alone. Every promise settles only after the commit: "durable before the response" still holds.
 */
export class SqliteWriteBatch {
  private pending: PendingWrite[] = []
  private scheduled = false

  constructor(private readonly db: Database.Database) {}

  write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run, resolve: resolve as (value: unknown) => void, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Runs whatever is queued now (before the database is closed). */
  flush(): void {
    this.scheduled = false
    if (this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = []
    try {
      this.db.transaction(() => {
        for (const write of batch) {
          try {
            outcomes.push({ ok: true, value: this.db.transaction(write.run)() })
          } catch (error) {
            outcomes.push({ ok: false, error })
          }
        }
      }).immediate()
    } catch (error) {
      for (const write of batch) write.reject(error)
      return
    }
    batch.forEach((write, index) => {
      const outcome = outcomes[index]!
      if (outcome.ok) write.resolve(outcome.value)
      else write.reject(outcome.error)
    })
  }
}
