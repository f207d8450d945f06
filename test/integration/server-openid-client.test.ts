// An independent OAuth client (openid-client, configured only from /.well-known/oauth-authorization-server)
// completes the authorization code + PKCE flow and the device flow against jitssh-server, refreshes and
// revokes: the server speaks standard OAuth, not only to our own CLI.
import * as oauth from 'openid-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID } from '../../src/shared/protocol.js'
import { TEST_PASSWORD, TestBrowser, csrfTokenOf, startTestServer, submitLogin, type TestServer } from '../helpers/server.js'

let srv: TestServer
let config: oauth.Configuration

beforeAll(async () => {
  srv = await startTestServer({ config: { oauth: { device_poll_interval: '1s' } } })
  config = await oauth.discovery(new URL(srv.url), CLIENT_ID, undefined, oauth.None(), { algorithm: 'oauth2', execute: [oauth.allowInsecureRequests] })
})
afterAll(async () => {
  await srv?.stop()
})

async function whoAmI(accessToken: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })
  return { status: response.status, ...((await response.json()) as Record<string, unknown>) }
}

describe('openid-client against jitssh-server', () => {
  it('reads the metadata', () => {
    const metadata = config.serverMetadata()
    expect(metadata.issuer).toBe(srv.url)
    expect(metadata.supportsPKCE('S256')).toBe(true)
  })

  it('completes authorization code + PKCE, refreshes and revokes', async () => {
    const verifier = oauth.randomPKCECodeVerifier()
    const state = oauth.randomState()
    const redirectUri = 'http://127.0.0.1:43111/callback'
    const url = oauth.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    })
    const browser = new TestBrowser()
    const first = await browser.request(url.href)
    const posted = await submitLogin(browser, new URL(first.headers.get('location')!, srv.url).href, 'alice', TEST_PASSWORD)
    const back = await browser.request(new URL(posted.headers.get('location')!, srv.url).href)
    const callback = new URL(back.headers.get('location')!)
    expect(callback.href.startsWith(redirectUri)).toBe(true)

    const tokens = await oauth.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })
    expect(tokens.token_type).toBe('bearer')
    expect(await whoAmI(tokens.access_token)).toMatchObject({ status: 200, email: 'alice@example.com' })

    const refreshed = await oauth.refreshTokenGrant(config, tokens.refresh_token!)
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token)
    expect(await whoAmI(refreshed.access_token)).toMatchObject({ status: 200 })

    // A stale refresh token is an error openid-client surfaces as invalid_grant.
    await expect(oauth.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' })
    expect(await whoAmI(refreshed.access_token)).toMatchObject({ status: 401, error: 'ERR_SESSION_REVOKED' })
  })

  it('completes the device flow (polling until approved)', async () => {
    const device = await oauth.initiateDeviceAuthorization(config, {})
    expect(device.interval).toBe(1)
    const polling = oauth.pollDeviceAuthorizationGrant(config, device)
    await approve(device.verification_uri_complete!)
    const tokens = await polling
    expect(await whoAmI(tokens.access_token)).toMatchObject({ status: 200, email: 'alice@example.com' })
  })

  it('revokes a device-flow login with RFC 7009', async () => {
    const device = await oauth.initiateDeviceAuthorization(config, {})
    const polling = oauth.pollDeviceAuthorizationGrant(config, device)
    await approve(device.verification_uri_complete!)
    const tokens = await polling
    await oauth.tokenRevocation(config, tokens.refresh_token!)
    expect(await whoAmI(tokens.access_token)).toMatchObject({ status: 401 })
  })

  it('surfaces a denial as access_denied', async () => {
    const device = await oauth.initiateDeviceAuthorization(config, {})
    const polling = oauth.pollDeviceAuthorizationGrant(config, device)
    await approve(device.verification_uri_complete!, 'deny')
    await expect(polling).rejects.toMatchObject({ error: 'access_denied' })
  })
})

async function approve(verificationUri: string, action: 'approve' | 'deny' = 'approve'): Promise<void> {
  const browser = new TestBrowser()
  const first = await browser.request(verificationUri)
  const posted = await submitLogin(browser, new URL(first.headers.get('location')!, srv.url).href, 'alice', TEST_PASSWORD)
  const page = await browser.request(new URL(posted.headers.get('location')!, srv.url).href)
  const html = await page.text()
  const userCode = /name="user_code" value="([^"]+)"/.exec(html)![1]!
  const answer = await browser.request(`${srv.url}/device`, { form: { csrf_token: csrfTokenOf(html), user_code: userCode, action } })
  expect(await answer.text()).toContain(action === 'approve' ? 'Device approved' : 'Device denied')
}
