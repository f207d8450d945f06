import type { RateLimitConfig } from '../config/types.js'
import type { ThrottleStore } from '../store/store.js'

/**
 * Counts failed logins per username and per client IP in the store (so every replica sees them) and
 * refuses further tries once either passes its limit inside the window.
 */
export class LoginThrottle {
  constructor(
    private readonly store: ThrottleStore,
    private readonly limits: RateLimitConfig,
    private readonly now: () => number,
  ) {}

  /** A reason to refuse, or undefined. */
  async check(username: string, ip: string): Promise<string | undefined> {
    const since = this.now() - this.limits.loginWindowMs
    if ((await this.store.countFailures(`user:${username.toLowerCase()}`, since)) >= this.limits.loginFailuresPerUser) {
      return 'too many failed sign-ins for this user; try again later'
    }
    if ((await this.store.countFailures(`ip:${ip}`, since)) >= this.limits.loginFailuresPerIp) {
      return 'too many failed sign-ins from this address; try again later'
    }
    return undefined
  }

  async failed(username: string, ip: string): Promise<void> {
    await this.store.recordFailure(`user:${username.toLowerCase()}`, this.now())
    await this.store.recordFailure(`ip:${ip}`, this.now())
  }

  async succeeded(username: string): Promise<void> {
    await this.store.clearFailures(`user:${username.toLowerCase()}`)
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
