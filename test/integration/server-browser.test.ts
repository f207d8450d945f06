// Real headless Chromium on jitssh-server's pages: the login form (with its CSP) ends on the CLI's loopback
// redirect over IPv4 and IPv6, and the device page shows the request and approves or denies it.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, type DeviceAuthorizationResponse } from '../../src/shared/protocol.js'
import { answerDeviceCode, completeBrowserLogin, launchChromium } from '../helpers/chromium.js'
import { TEST_PASSWORD, pkcePair, startTestServer, type TestServer } from '../helpers/server.js'

let srv: TestServer
let browser: Browser
const loopbacks: Server[] = []
const received: string[] = []

/** A stand-in for the CLI's loopback listener: records the callback URL and shows a page. */
async function loopback(host: '127.0.0.1' | '::1'): Promise<string> {
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/callback')) received.push(request.url)
    response.writeHead(200, { 'content-type': 'text/plain' }).end('jitssh: signed in, you can close this window')
  })
  server.listen(0, host)
  await once(server, 'listening')
  loopbacks.push(server)
  const port = (server.address() as { port: number }).port
  return host === '::1' ? `http://[::1]:${port}/callback` : `http://127.0.0.1:${port}/callback`
}

describe('pages in headless Chromium', () => {
  beforeAll(async () => {
    srv = await startTestServer()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    for (const server of loopbacks) server.close()
    await srv?.stop()
  })

  it.each([['127.0.0.1'], ['::1']] as const)('signs in on the login page and lands on the %s loopback redirect with code and state', async (host) => {
    const redirectUri = await loopback(host)
    const query = new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: `state-${host}` })
    const text = await completeBrowserLogin(browser, `${srv.url}/authorize?${query}`, { username: 'alice', password: TEST_PASSWORD })
    expect(text).toContain('signed in')
    const callback = new URL(received.at(-1)!, 'http://x')
    expect(callback.pathname).toBe('/callback')
    expect(callback.searchParams.get('state')).toBe(`state-${host}`)
    expect(callback.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  async function startDevice(): Promise<DeviceAuthorizationResponse> {
    const response = await fetch(`${srv.url}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'jitssh/test' },
      body: new URLSearchParams({ client_id: CLIENT_ID }),
    })
    return (await response.json()) as DeviceAuthorizationResponse
  }

  it.each([['approve', 'Device approved'], ['deny', 'Device denied']] as const)('lets a person %s a device code', async (action, expected) => {
    const device = await startDevice()
    const text = await answerDeviceCode(browser, device.verification_uri_complete, { username: 'alice', password: TEST_PASSWORD }, action)
    expect(text).toContain(expected)
    const row = await srv.server.store.oauth.getDeviceCodeByUserCode(device.user_code.replace('-', ''))
    expect(row?.status).toBe(action === 'approve' ? 'approved' : 'denied')
  })

  it('shows the code entry form when opened without a code, and the request details after it', async () => {
    const device = await startDevice()
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${srv.url}/device`)
    await page.fill('input[name="username"]', 'alice')
    await page.fill('input[name="password"]', TEST_PASSWORD)
    await Promise.all([page.waitForLoadState('load'), page.click('button[type="submit"]')])
    await page.fill('input[name="user_code"]', device.user_code.toLowerCase())
    await Promise.all([page.waitForLoadState('load'), page.click('form[action="/device"] button[type="submit"]')])
    const body = await page.locator('body').innerText()
    expect(body).toContain(device.user_code)
    expect(body).toContain('jitssh/test')
    expect(body).toContain('jitssh-cli')
    await context.close()
  })
})
