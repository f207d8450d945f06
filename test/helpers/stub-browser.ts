/**
 * A stub "browser" for the CLI's login flows, over plain HTTP (no Chromium): given the authorize URL it
 * follows the server's redirects, fills the login form (csrf_token and return_to read from the page),
 * and finally GETs the CLI's loopback callback, like a browser would. It can also answer a device code
 * on /device. `open` returns at once, as a real browser launch does; `result` settles when the flow ends.
 */
import { TEST_PASSWORD, TestBrowser, csrfTokenOf, submitLogin } from './server.js'

export interface StubBrowserOptions {
  username?: string
  password?: string
  /** Do nothing with opened URLs (to test timeouts and --no-browser). */
  idle?: boolean
}

export interface LoopbackPage {
  status: number
  text: string
  url: string
}

export interface StubBrowser {
  open(url: string): Promise<void>
  opened: string[]
  /** The loopback page of the last browser flow started by `open`. */
  result(): Promise<LoopbackPage>
  /** Runs the browser flow for `url` and returns the loopback page. */
  completeLogin(url: string): Promise<LoopbackPage>
  /** Signs in on the server and approves or denies the device code (verification_uri_complete). */
  answerDevice(verificationUriComplete: string, action?: 'approve' | 'deny'): Promise<string>
}

const isLoopback = (url: URL) => url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost'

export function createStubBrowser(options: StubBrowserOptions = {}): StubBrowser {
  const username = options.username ?? 'alice'
  const password = options.password ?? TEST_PASSWORD
  const opened: string[] = []
  let last: Promise<LoopbackPage> | undefined

  async function signedIn(browser: TestBrowser, url: string): Promise<{ response: Response; url: string }> {
    const origin = new URL(url).origin
    let step = await browser.follow(url, [origin])
    if (new URL(step.url).pathname === '/login') {
      const posted = await submitLogin(browser, step.url, username, password)
      const location = posted.headers.get('location')
      if (posted.status !== 303 || !location) throw new Error(`stub browser: login failed (${posted.status}): ${(await posted.text()).slice(0, 300)}`)
      step = await browser.follow(new URL(location, origin).href, [origin])
    }
    return step
  }

  async function completeLogin(url: string): Promise<LoopbackPage> {
    const browser = new TestBrowser()
    const step = await signedIn(browser, url)
    const location = step.response.headers.get('location')
    if (!location) throw new Error(`stub browser: /authorize did not redirect (${step.response.status}): ${(await step.response.text()).slice(0, 300)}`)
    const back = new URL(location, step.url)
    if (!isLoopback(back)) throw new Error(`stub browser: redirected to a non-loopback URL ${back.href}`)
    const page = await fetch(back)
    return { status: page.status, text: await page.text(), url: back.href }
  }

  async function answerDevice(verificationUriComplete: string, action: 'approve' | 'deny' = 'approve'): Promise<string> {
    const browser = new TestBrowser()
    const origin = new URL(verificationUriComplete).origin
    const step = await signedIn(browser, verificationUriComplete)
    let html = await step.response.text()
    if (!html.includes('name="action"')) {
      // The entry form first: submit the (prefilled) code.
      const userCode = /name="user_code"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? new URL(verificationUriComplete).searchParams.get('user_code') ?? ''
      const shown = await browser.request(`${origin}/device`, { form: { csrf_token: csrfTokenOf(html), user_code: userCode } })
      html = await shown.text()
    }
    const userCode = /type="hidden" name="user_code" value="([^"]*)"/.exec(html)?.[1]
    if (!userCode) throw new Error(`stub browser: no device confirmation page:\n${html.slice(0, 500)}`)
    const decided = await browser.request(`${origin}/device`, { form: { csrf_token: csrfTokenOf(html), user_code: userCode, action } })
    return decided.text()
  }

  return {
    opened,
    open: async (url) => {
      opened.push(url)
      if (options.idle === true) return
      last = completeLogin(url)
      last.catch(() => undefined) // read through result()
    },
    result: () => last ?? Promise.reject(new Error('stub browser: nothing was opened')),
    completeLogin,
    answerDevice,
  }
}
