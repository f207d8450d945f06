// The device authorization grant (RFC 8628) of jitssh-server: codes, polling (pending, slow_down), the
// approval page (login, confirmation, approve / deny), expiry and rate limits. The clock is injected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, type DeviceAuthorizationResponse, type TokenResponse } from '../../src/shared/protocol.js'
import { TEST_PASSWORD, TestBrowser, csrfTokenOf, startTestServer, submitLogin, testClock, type TestServer } from '../helpers/server.js'

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const clock = testClock()
let srv: TestServer

beforeAll(async () => {
  srv = await startTestServer({
    now: clock.now,
    config: { rate_limits: { device_authorization_per_minute: 12, user_code_failures_per_ip: 5 } },
  })
})
afterAll(async () => {
  await srv?.stop()
})

async function startDevice(userAgent = 'jitssh/0.1 (linux)'): Promise<DeviceAuthorizationResponse> {
  const response = await fetch(`${srv.url}/device_authorization`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent },
    body: new URLSearchParams({ client_id: CLIENT_ID }),
  })
  expect(response.status).toBe(200)
  return (await response.json()) as DeviceAuthorizationResponse
}

async function poll(deviceCode: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: CLIENT_ID }),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

/** Signs in through the verification URL and returns the confirmation page's HTML. */
async function openConfirmation(browser: TestBrowser, device: DeviceAuthorizationResponse): Promise<string> {
  const first = await browser.request(device.verification_uri_complete)
  expect(first.status).toBe(302)
  const loginUrl = new URL(first.headers.get('location')!, srv.url).href
  const posted = await submitLogin(browser, loginUrl, 'alice', TEST_PASSWORD)
  expect(posted.status).toBe(303)
  expect(posted.headers.get('location')).toBe(`/device?user_code=${device.user_code}`)
  const page = await browser.request(new URL(posted.headers.get('location')!, srv.url).href)
  expect(page.status).toBe(200)
  return page.text()
}

async function answer(browser: TestBrowser, html: string, userCode: string, action: 'approve' | 'deny'): Promise<Response> {
  return browser.request(`${srv.url}/device`, { form: { csrf_token: csrfTokenOf(html), user_code: userCode, action } })
}

describe('device authorization', () => {
  it('hands out an easy user code, the verification URIs, expiry and interval', async () => {
    const device = await startDevice()
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
    expect(device.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(device.verification_uri).toBe(`${srv.url}/device`)
    expect(device.verification_uri_complete).toBe(`${srv.url}/device?user_code=${device.user_code}`)
    expect(device.expires_in).toBe(600)
    expect(device.interval).toBe(5)
  })

  it('polls pending, slows a fast poller down by 5 s each time, then issues tokens after approval', async () => {
    const device = await startDevice()
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: 'authorization_pending' } })
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: 'slow_down', error_description: expect.stringMatching(/10 seconds/) } })
    clock.advance(5_000)
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: 'slow_down', error_description: expect.stringMatching(/15 seconds/) } })
    clock.advance(15_000)
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: 'authorization_pending' } })

    const browser = new TestBrowser()
    const html = await openConfirmation(browser, device)
    // The page says which device asks.
    expect(html).toContain(device.user_code)
    expect(html).toContain('jitssh-cli')
    expect(html).toContain('jitssh/0.1 (linux)')
    expect(html).toMatch(/127\.0\.0\.1/)
    expect(html).toContain('alice@example.com')
    expect(html).toMatch(/<button type="submit" name="action" value="approve">/)
    expect(html).toMatch(/<button type="submit" name="action" value="deny">/)
    const result = await answer(browser, html, device.user_code, 'approve')
    expect(result.status).toBe(200)
    expect(await result.text()).toContain('Device approved')

    clock.advance(15_000)
    const granted = await poll(device.device_code)
    expect(granted.status).toBe(200)
    const tokens = granted.body as unknown as TokenResponse
    const me = await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    expect(await me.json()).toMatchObject({ email: 'alice@example.com' })
    clock.advance(15_000)
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
  })

  it('answers access_denied after the person denies', async () => {
    const device = await startDevice()
    const browser = new TestBrowser()
    const html = await openConfirmation(browser, device)
    const result = await answer(browser, html, device.user_code, 'deny')
    expect(await result.text()).toContain('Device denied')
    clock.advance(5_000)
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: 'access_denied' } })
    // The code cannot be approved afterwards.
    const again = await answer(browser, html, device.user_code, 'approve')
    expect(again.status).toBe(400)
  })

  it('answers expired_token after 10 minutes, and the page no longer accepts the code', async () => {
    const device = await startDevice()
    const browser = new TestBrowser()
    const html = await openConfirmation(browser, device)
    clock.advance(601_000)
    expect(await poll(device.device_code)).toMatchObject({ status: 400, body: { error: 'expired_token' } })
    const late = await answer(browser, html, device.user_code, 'approve')
    expect(late.status).toBe(400)
    expect(await late.text()).toContain('not valid or has expired')
  })

  it('requires the CSRF token to approve', async () => {
    const device = await startDevice()
    const browser = new TestBrowser()
    await openConfirmation(browser, device)
    const forged = await browser.request(`${srv.url}/device`, { form: { csrf_token: 'A'.repeat(43), user_code: device.user_code, action: 'approve' } })
    expect(forged.status).toBe(403)
    clock.advance(5_000)
    expect(await poll(device.device_code)).toMatchObject({ body: { error: 'authorization_pending' } })
  })

  it('rejects unknown device codes and other clients', async () => {
    expect(await poll('nope')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } })
    const response = await fetch(`${srv.url}/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'someone' }),
    })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ error: 'invalid_client' })
  })

  it('limits wrong user codes per address', async () => {
    const browser = new TestBrowser()
    const device = await startDevice()
    await openConfirmation(browser, device)
    let last: Response | undefined
    for (let i = 0; i < 6; i++) last = await browser.request(`${srv.url}/device?user_code=BBBB-BBB${'CDFGHJ'[i]}`)
    expect(last!.status).toBe(400)
    expect(await last!.text()).toContain('Too many wrong codes')
    // Even the right code is refused now, from this address.
    const right = await browser.request(device.verification_uri_complete)
    expect(await right.text()).toContain('Too many wrong codes')
  })

  it('rate-limits device authorization requests per address', async () => {
    let status = 200
    for (let i = 0; i < 15 && status === 200; i++) {
      status = (await fetch(`${srv.url}/device_authorization`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: CLIENT_ID }),
      })).status
    }
    expect(status).toBe(429)
  })
})
