/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the browser
 * half of the login flows (the login page, the device approval page) and the live pages (terminal, player).
 */
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM_PATH = process.env.JITSSH_TEST_CHROMIUM ?? '/usr/bin/chromium'

// The machine's network is loopback only: keep Chromium from reaching out at start-up.
const QUIET_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]

/** `ignoreCertificateErrors`: for a server whose TLS certificate comes from a test's private CA. */
export async function launchChromium(options: { ignoreCertificateErrors?: boolean } = {}): Promise<Browser> {
  const args = options.ignoreCertificateErrors === true ? [...QUIET_FLAGS, '--ignore-certificate-errors'] : QUIET_FLAGS
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args })
}

export interface Credentials {
  username: string
  password: string
}

/** Opens `url` in a fresh context, signs in on the login page if shown, and returns the page where it lands. */
export async function signInAt(browser: Browser, url: string, creds: Credentials): Promise<Page> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(url)
  if (await page.locator('form[action="/login"]').count()) {
    await page.fill('input[name="username"]', creds.username)
    await page.fill('input[name="password"]', creds.password)
    await Promise.all([page.waitForLoadState('load'), page.click('form[action="/login"] button[type="submit"]')])
  }
  return page
}

/** Browser login for `jitssh login`: ends on the CLI's loopback page. Returns that page's text. */
export async function completeBrowserLogin(browser: Browser, authorizeUrl: string, creds: Credentials): Promise<string> {
  const page = await signInAt(browser, authorizeUrl, creds)
  await page.waitForURL(/^http:\/\/(127\.0\.0\.1|\[::1\]):\d+\//, { timeout: 15_000 })
  const text = await page.locator('body').innerText()
  await page.context().close()
  return text
}

/** Device flow: opens the verification URL (with the code), signs in, and presses approve or deny. */
export async function answerDeviceCode(
  browser: Browser,
  verificationUriComplete: string,
  creds: Credentials,
  action: 'approve' | 'deny' = 'approve',
): Promise<string> {
  const page = await signInAt(browser, verificationUriComplete, creds)
  // The code entry form may come first (prefilled from ?user_code=); submit it if shown.
  const entry = page.locator('form[action="/device"] input[name="user_code"]')
  if ((await entry.count()) && !(await page.locator(`button[name="action"][value="${action}"]`).count())) {
    await Promise.all([page.waitForLoadState('load'), page.locator('form[action="/device"] button[type="submit"]').first().click()])
  }
  await Promise.all([page.waitForLoadState('load'), page.click(`button[name="action"][value="${action}"]`)])
  const text = await page.locator('body').innerText()
  await page.context().close()
  return text
}

/** Where the tests keep their screenshots (gitignored), to be looked at. */
export const SCREENSHOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results/screenshots')

/** Saves a full-page screenshot as test-results/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** Collects what the page's console says about Content-Security-Policy violations (the page must cause none). */
export function cspViolations(page: Page): string[] {
  const seen: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) seen.push(message.text())
  })
  return seen
}
