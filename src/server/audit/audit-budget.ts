/** Whom an unauthenticated caller's audit event is about: a real account (a known user, a real code's owner) or nobody we know. */
export type EventSubject = 'account' | 'unknown'

/**
 * The audit rows unauthenticated callers may cause, per process: a token bucket of `perMinute` rows that
 * refills continuously. Rows about nobody we know (unknown users, codes, tokens) may use only the upper half,
 * so a flood of those can never spend what is kept for rows about real accounts (a wrong password for
 * alice, a replayed refresh token of hers), which may use all of it.
 */
export class AuditBudget {
  private tokens: number
  private at: number

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {
    this.tokens = perMinute
    this.at = now()
  }

  /** Takes one row; false when the budget for `subject` is spent. */
  take(subject: EventSubject): boolean {
    const now = this.now()
    this.tokens = Math.min(this.perMinute, this.tokens + (Math.max(0, now - this.at) * this.perMinute) / 60_000)
    this.at = now
    const reserve = subject === 'account' ? 0 : this.perMinute / 2
    if (this.tokens - reserve < 1) return false
    this.tokens -= 1
    return true
  }
}
