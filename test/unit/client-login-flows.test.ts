// The OAuth flows against a scripted fake authorization server: device polling intervals and slow_down,
// expiry, the browser flow's state/iss checks and its callback page. (The real server is in
// test/integration/cli-login.test.ts; this covers what the real one will not do on demand.)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isJitsshError } from '../../src/shared/errors.js'
import type { DiscoveryDocument } from '../../src/shared/protocol.js'
import { browserLogin } from '../../src/client/auth/login-browser.js'
import { deviceLogin } from '../../src/client/auth/login-device.js'
import type { LoginUi } from '../../src/client/auth/login.js'
import { createUi } from '../../src/cli/output.js'
import { makeTempHome, removeTempHome, testContext } from '../helpers/cli.js'

let fake: Server
let base: string
let home: string
let tokenAnswers: Array<[number, object]>
let tokenForms: URLSearchParams[]

const TOKENS = { access_token: 'at', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt', session_expires_at: '2030-01-01T00:00:00Z' }

beforeEach(async () => {
  home = await makeTempHome()
  tokenAnswers = []
  tokenForms = []
  fake = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const json = (status: number, value: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
      if (req.url === '/device_authorization') {
        return json(200, { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: `${base}/device`, verification_uri_complete: `${base}/device?user_code=ABCD-EFGH`, expires_in: 600, interval: 2 })
      }
      if (req.url === '/token') {
        tokenForms.push(new URLSearchParams(body))
        const [status, value] = tokenAnswers.shift() ?? [200, TOKENS]
        return json(status, value)
      }
      json(404, { error: 'not_found' })
    })
  })
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
})
afterEach(async () => {
  await new Promise((r) => fake.close(r))
  await removeTempHome(home)
})

const discovery = (): DiscoveryDocument => ({
  issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`,
  device_authorization_endpoint: `${base}/device_authorization`, revocation_endpoint: `${base}/revoke`,
  jwks_uri: `${base}/jwks`, userinfo_endpoint: `${base}/v1/me`, response_types_supported: [], grant_types_supported: [],
  code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['none'],
  jitssh: { version: 1, client_id: 'jitssh-cli', sign_endpoint: '', tunnel_endpoint: '', krl_endpoint: '', admin_endpoint: '', user_ca_public_key: '', host_ca_public_key: '' },
})

const quietUi = (lines: string[] = []): LoginUi => ({ info: (t) => void lines.push(t), warn: (t) => void lines.push(t), waiting: () => () => undefined })

describe('device flow', () => {
  function context(sleeps: number[], clock = { t: 0 }) {
    return testContext({
      home,
      now: () => clock.t,
      sleep: async (ms) => {
        sleeps.push(ms)
        clock.t += ms
      },
    })
  }

  it('polls at the server interval, adds 5 s on slow_down, and returns the tokens', async () => {
    tokenAnswers = [[400, { error: 'authorization_pending' }], [400, { error: 'slow_down' }], [400, { error: 'authorization_pending' }], [200, TOKENS]]
    const sleeps: number[] = []
    const lines: string[] = []
    const { ctx, close } = context(sleeps)
    const tokens = await deviceLogin(ctx, discovery(), quietUi(lines), { timeoutMs: 600_000 }).finally(close)
    expect(tokens.refresh_token).toBe('rt')
    expect(sleeps).toEqual([2000, 2000, 7000, 7000])
    expect(tokenForms.every((f) => f.get('grant_type') === 'urn:ietf:params:oauth:grant-type:device_code' && f.get('device_code') === 'dc' && f.get('client_id') === 'jitssh-cli')).toBe(true)
    expect(lines.join('\n')).toContain('ABCD-EFGH')
  })

  it.each([
    [{ error: 'access_denied' }, 'ERR_LOGIN_DENIED'],
    [{ error: 'expired_token' }, 'ERR_LOGIN_TIMEOUT'],
  ])('%o ends the flow with %s', async (answer, code) => {
    tokenAnswers = [[400, answer]]
    const { ctx, close } = context([])
    const error = await deviceLogin(ctx, discovery(), quietUi(), { timeoutMs: 600_000 }).finally(close).catch((e: unknown) => e)
    expect(isJitsshError(error, code as never)).toBe(true)
  })

  it('gives up when the code expires while still pending', async () => {
    tokenAnswers = Array.from({ length: 1000 }, () => [400, { error: 'authorization_pending' }] as [number, object])
    const { ctx, close } = context([])
    const error = await deviceLogin(ctx, discovery(), quietUi(), { timeoutMs: 10_000 }).finally(close).catch((e: unknown) => e)
    expect(isJitsshError(error, 'ERR_LOGIN_TIMEOUT')).toBe(true)
  })
})

describe('browser flow', () => {
  async function withBrowser(answer: (authorize: URL) => Promise<void>) {
    const { ctx, close } = testContext({ home })
    ctx.openBrowser = async (url) => void answer(new URL(url)).catch(() => undefined)
    return browserLogin(ctx, discovery(), quietUi(), { openBrowser: true, timeoutMs: 5_000 }).finally(close)
  }
  const callback = (authorize: URL, params: Record<string, string>) => {
    const url = new URL(authorize.searchParams.get('redirect_uri')!)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    return fetch(url)
  }

  it('exchanges the code with the PKCE verifier and shows a success page', async () => {
    let page: Promise<string> = Promise.resolve('')
    const tokens = await withBrowser(async (authorize) => {
      page = callback(authorize, { code: 'the-code', state: authorize.searchParams.get('state')!, iss: base }).then((r) => r.text())
      await page
    })
    expect(tokens.access_token).toBe('at')
    const form = tokenForms[0]!
    expect(form.get('grant_type')).toBe('authorization_code')
    expect(form.get('code')).toBe('the-code')
    expect(form.get('code_verifier')).toMatch(/^[\w-]{43,128}$/)
    expect(await page).toContain('You are logged in')
  })

  it('refuses an answer from another issuer (RFC 9207)', async () => {
    const error = await withBrowser(async (authorize) => {
      await callback(authorize, { code: 'x', state: authorize.searchParams.get('state')!, iss: 'https://evil.example.com' })
    }).catch((e: unknown) => e)
    expect(isJitsshError(error, 'ERR_LOGIN_DENIED')).toBe(true)
    expect(tokenForms).toHaveLength(0)
  })

  it('reports an error answer (e.g. access_denied) as ERR_LOGIN_DENIED', async () => {
    const error = await withBrowser(async (authorize) => {
      await callback(authorize, { error: 'access_denied', error_description: 'user said no', state: authorize.searchParams.get('state')! })
    }).catch((e: unknown) => e)
    expect(isJitsshError(error, 'ERR_LOGIN_DENIED')).toBe(true)
    expect((error as Error).message).toBe('login failed: user said no')
  })

  it('sends S256 of the verifier as the challenge', async () => {
    let challenge = ''
    await withBrowser(async (authorize) => {
      challenge = authorize.searchParams.get('code_challenge')!
      await callback(authorize, { code: 'c', state: authorize.searchParams.get('state')! })
    })
    const { createHash } = await import('node:crypto')
    expect(createHash('sha256').update(tokenForms[0]!.get('code_verifier')!).digest('base64url')).toBe(challenge)
  })
})

describe('terminal output', () => {
  it('draws a spinner only on a terminal and clears it', async () => {
    const tty = testContext({ home, isTTY: true })
    let out = ''
    tty.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const stop = createUi(tty.ctx).waiting('Waiting')
    await new Promise((r) => setTimeout(r, 200))
    stop()
    expect(out).toMatch(/^\r.*⠋.* Waiting/)
    expect(out.endsWith('\r\x1b[K')).toBe(true)
    await tty.close()

    const pipe = testContext({ home, isTTY: false })
    let plain = ''
    pipe.stderr.on('data', (c: Buffer) => (plain += c.toString()))
    createUi(pipe.ctx).waiting('Waiting')()
    createUi(pipe.ctx).warn('careful')
    expect(plain).toBe('Waiting\nwarning: careful\n')
    await pipe.close()
  })
})
