import type { RateLimitConfig } from '../config/types.js'
import type { ThrottleStore } from '../store/store.js'

/** A reserved sign-in attempt: its keys (the per-user-and-address one first) and when it was reserved. */
export interface Attempt {
  keys: string[]
  at: number
}

/** The longest wait a person is asked for when others keep guessing their password. */
const MAX_BACKOFF_MS = 60_000

/**
 * Sign-in attempts, counted in the store (every replica sees them) and reserved before the password is
 * checked: parallel guesses cannot all run. Per (user, address) and per address there are hard limits within
 * the window. Per user across addresses there is no lockout (anyone could lock anyone out by guessing):
 * past the limit, each further attempt must wait a delay that doubles up to a minute, and a browser that
 * signed in as that user before (a known-device cookie) does not wait at all.
 */
export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly limits: RateLimitConfig,
    private readonly now: () => number,
  ) {}

  /**
   * Reserves a sign-in attempt (counted as a failure until `succeeded`); a reason to refuse it instead, when
   * nothing may be checked.
   */
  async reserve(username: string, ip: string, knownDevice: boolean): Promise<{ refusal: string } | { attempt: Attempt }> {
    const user = username.toLowerCase()
    const now = this.now()
    let refusal: string | undefined
    const limit = this.limits.loginFailuresPerUser
    const keys = [`user-ip:${user}|${ip}`, `ip:${ip}`, `user:${user}`]
    await this.store.reserve(keys, now, now - this.limits.loginWindowMs, ([fromHere, fromIp, anywhere]) => {
      if (fromHere!.count >= limit) refusal = 'too many failed sign-ins for this user; try again later'
      else if (fromIp!.count >= this.limits.loginFailuresPerIp) refusal = 'too many failed sign-ins from this address; try again later'
      else if (!knownDevice && anywhere!.count >= limit && anywhere!.lastAt !== null) {
        const waitMs = Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** (anywhere!.count - limit)) - (now - anywhere!.lastAt)
        if (waitMs > 0) refusal = `too many failed sign-ins for this user from other places; try again in ${Math.ceil(waitMs / 1000)} s`
      }
      return refusal === undefined
    })
    return refusal === undefined ? { attempt: { keys, at: now } } : { refusal }
  }

  /** The password was right: the attempt was no failure, and this address starts afresh for this user. */
  async succeeded(attempt: Attempt): Promise<void> {
    await this.store.release(attempt.keys.slice(1), attempt.at)
    await this.store.clearFailures(attempt.keys[0]!)
  }

  /** Wrong user codes on the device page: a separate budget per IP. */
  async checkUserCode(ip: string): Promise<boolean> {
    const since = this.now() - this.limits.loginWindowMs
    return (await this.store.countFailures(`user_code:${ip}`, since)) < this.limits.userCodeFailuresPerIp
  }

  async wrongUserCode(ip: string): Promise<void> {
    await this.store.recordFailure(`user_code:${ip}`, this.now())
  }
}
