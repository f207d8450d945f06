// Password guessing on the login page (issue 11): an attempt is reserved atomically before the password is
// checked (scrypt), so parallel guesses cannot all run; and guessing someone's password from elsewhere does
// not lock them out: limits are per (user, address) and per address; for a user across addresses the answer
// is a growing delay, which a browser that signed in as that user before does not wait for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csrfTokenOf, startTestServer, submitLogin, TEST_PASSWORD, TestBrowser, testClock, type TestServer } from '../helpers/server.js'

const clock = testClock()
let srv: TestServer
beforeAll(async () => {
  srv = await startTestServer({ now: clock.now, config: { rate_limits: { login_failures_per_user: 5, login_failures_per_ip: 1000, login_posts_per_minute: 100_000 } } })
})
afterAll(async () => srv?.stop())

async function passwordChecks(user: string): Promise<number> {
  const events = await srv.server.store.audit.read(0, 100_000)
  return events.filter((event) => event.type === 'login' && event.user === user && event.detail.reason === 'bad_credentials').length
}

describe('login throttle', () => {
  it('checks at most the limit of parallel guesses for one user from one address', async () => {
    const browser = new TestBrowser()
    const page = await browser.request(`${srv.url}/login`)
    const csrf = csrfTokenOf(await page.text())
    const guesses = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      browser.request(`${srv.url}/login`, { form: { username: 'carol', password: `guess-${i}`, csrf_token: csrf, return_to: '/device' } })))
    expect(guesses.filter((response) => response.status === 401)).toHaveLength(5)
    expect(guesses.filter((response) => response.status === 429)).toHaveLength(25)
    expect(await passwordChecks('carol')).toBe(5)
  })

  it('does not let guesses from another address lock a person out: a browser she signed in with before gets in at once', async () => {
    const alice = new TestBrowser()
    expect((await submitLogin(alice, `${srv.url}/login`, 'alice', TEST_PASSWORD)).status).toBe(303)
    // Many addresses guessing alice's password (here: two, each to its limit, then beyond).
    for (const address of ['127.0.0.2', '127.0.0.3']) {
      const attacker = new TestBrowser({ localAddress: address })
      for (let i = 0; i < 8; i++) await submitLogin(attacker, `${srv.url}/login`, 'alice', `guess-${i}`)
      expect((await submitLogin(attacker, `${srv.url}/login`, 'alice', TEST_PASSWORD)).status).toBe(429)
    }
    expect((await submitLogin(alice, `${srv.url}/login`, 'alice', TEST_PASSWORD)).status).toBe(303)
  })

  it('makes a new browser wait a growing delay instead of locking the person out for the whole window', async () => {
    const attacker = new TestBrowser({ localAddress: '127.0.0.4' })
    for (let i = 0; i < 5; i++) await submitLogin(attacker, `${srv.url}/login`, 'bob', `guess-${i}`)
    const other = new TestBrowser({ localAddress: '127.0.0.5' })
    for (let i = 0; i < 3; i++) await submitLogin(other, `${srv.url}/login`, 'bob', `guess-${i}`)
    const fresh = new TestBrowser()
    const waiting = await submitLogin(fresh, `${srv.url}/login`, 'bob', TEST_PASSWORD)
    expect(waiting.status).toBe(429)
    expect(await waiting.text()).toMatch(/try again in \d+ s/)
    clock.advance(61_000) // the longest delay is a minute; the failure window is 15
    expect((await submitLogin(fresh, `${srv.url}/login`, 'bob', TEST_PASSWORD)).status).toBe(303)
  })
})
