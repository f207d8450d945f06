// jitssh-server's operational surface: JSON log lines on the log stream that never contain passwords,
// tokens, codes or cookies (after a full login, refresh, sign, device flow and revoke); HTTPS from the
// configured certificate with Secure cookies and HSTS; the admin flag in /v1/me.
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { connect, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { CLIENT_ID, type DeviceAuthorizationResponse, type TokenResponse } from '../../src/shared/protocol.js'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { TEST_PASSWORD, TestBrowser, csrfTokenOf, loginWithPassword, startTestServer, submitLogin } from '../helpers/server.js'
import { connectTerminal, openTerminalPage, signedInBrowser } from '../helpers/terminal.js'

/** The log lines; the stream emits 'line' after each write. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = []
  const stream: Writable = new Writable({
    write: (chunk, _encoding, done) => {
      chunks.push(String(chunk))
      done()
      stream.emit('line')
    },
  })
  return { stream, text: () => chunks.join('') }
}

const form = (body: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ client_id: CLIENT_ID, ...body }),
})

describe('logs', () => {
  it('are JSON lines without secrets', async () => {
    const log = capture()
    const srv = await startTestServer({ logStream: log.stream, targets: { 'vm.example.com': '127.0.0.1:1' } })
    const secrets: string[] = [TEST_PASSWORD]
    try {
      const tokens = await loginWithPassword(srv.url)
      secrets.push(tokens.access_token, tokens.refresh_token)
      const refreshed = (await (await fetch(`${srv.url}/token`, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))).json()) as TokenResponse
      secrets.push(refreshed.access_token, refreshed.refresh_token)
      await fetch(`${srv.url}/v1/ssh/sign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${refreshed.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair().publicKey), hostname: 'vm.example.com' }),
      })
      const device = (await (await fetch(`${srv.url}/device_authorization`, form({}))).json()) as DeviceAuthorizationResponse
      secrets.push(device.device_code, device.user_code, device.user_code.replace('-', ''))
      const browser = new TestBrowser()
      const first = await browser.request(device.verification_uri_complete)
      const posted = await submitLogin(browser, new URL(first.headers.get('location')!, srv.url).href, 'alice', TEST_PASSWORD)
      const page = await (await browser.request(new URL(posted.headers.get('location')!, srv.url).href)).text()
      secrets.push(csrfTokenOf(page))
      for (const cookie of posted.headers.getSetCookie()) secrets.push(cookie.split(';')[0]!.split('=')[1]!)
      await browser.request(`${srv.url}/device`, { form: { csrf_token: csrfTokenOf(page), user_code: device.user_code, action: 'approve' } })
      const deviceTokens = (await (await fetch(`${srv.url}/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code }))).json()) as TokenResponse
      secrets.push(deviceTokens.refresh_token)
      await fetch(`${srv.url}/revoke`, form({ token: deviceTokens.refresh_token }))
      // A browser terminal's one-time ticket (nothing listens at the target: ssh fails at once).
      const signedIn = await signedInBrowser(srv.url) // (the device flow's browser was signed out with its session's revocation)
      const terminalPage = await openTerminalPage(signedIn, srv.url, 'vm.example.com')
      secrets.push(terminalPage.ticket!)
      const terminal = await connectTerminal(signedIn, terminalPage, { origin: srv.url })
      if ('ws' in terminal) await terminal.closed
    } finally {
      await srv.stop()
    }
    const text = log.text()
    const lines = text.trim().split('\n')
    expect(lines.length).toBeGreaterThan(20)
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow()
    expect(text).toContain('"url":"/device?user_code=[redacted]"')
    expect(text).toMatch(/"url":"\/terminal\/ws\?ticket=\[redacted\]&cols=\d+&rows=\d+"/)
    for (const secret of secrets) expect(text).not.toContain(secret)
  })
})

describe('clients that leave', () => {
  it('a client that disconnects mid-body is an expected event at debug level, not an error with a stack; error codes stay visible', async () => {
    const log = capture()
    const srv = await startTestServer({ logStream: log.stream, config: { log_level: 'debug' } })
    try {
      const { port } = new URL(srv.url)
      for (const [path, type] of [['/v1/ssh/sign', 'application/json'], ['/token', 'application/x-www-form-urlencoded']]) {
        const socket = connect(Number(port), '127.0.0.1')
        await once(socket, 'connect')
        socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: 1000\r\n\r\n{"public_key":`)
        await new Promise((resolve) => setTimeout(resolve, 100)) // the server is reading the body now
        socket.destroy()
        const seen = log.text().length
        // The error handler's line for this request, whichever it is.
        while (!/client left before the request was complete|unhandled error/.test(log.text().slice(seen))) await once(log.stream, 'line')
      }
    } finally {
      await srv.stop()
    }
    const lines = log.text().trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string; err?: { code?: string; stack?: string } })
    expect(lines.filter((line) => line.level >= 40)).toEqual([])
    const left = lines.filter((line) => line.msg === 'client left before the request was complete')
    expect(left).toHaveLength(2)
    for (const line of left) {
      expect(line.level).toBe(20)
      expect(line.err?.code).toBe('ECONNRESET')
      expect(line.err?.stack ?? '').not.toMatch(/\n\s+at /)
    }
  })
})

describe('HTTPS', () => {
  it('serves TLS from the configured certificate, with Secure __Host- cookies and HSTS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jitssh-tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    // With TLS the public URL (and so the port) must be in the config: ask the kernel for a free one.
    const probe = createNetServer().listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = (probe.address() as { port: number }).port
    await new Promise((resolve) => probe.close(resolve))
    const srv = await startTestServer({
      config: { listen: `127.0.0.1:${port}`, public_url: `https://127.0.0.1:${port}`, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } },
    })
    try {
      expect(srv.url).toBe(`https://127.0.0.1:${port}`)
      const ca = readFileSync(join(dir, 'cert.pem'))
      const response = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
        const req = httpsRequest(`${srv.url}/login`, { ca }, (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => (body += chunk.toString())).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        })
        req.on('error', reject)
        req.end()
      })
      expect(response.status).toBe(200)
      expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/)
      expect(String(response.headers['set-cookie'])).toMatch(/^__Host-jitssh_csrf=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Secure/)
    } finally {
      await srv.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('/v1/me', () => {
  it('marks configured admins', async () => {
    const srv = await startTestServer({ config: { admins: { groups: ['ops'] } } })
    try {
      const me = async (user: string): Promise<unknown> => {
        const tokens = await loginWithPassword(srv.url, user)
        return (await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()
      }
      expect(await me('bob')).toMatchObject({ email: 'bob@example.com', admin: true })
      expect(await me('alice')).toMatchObject({ admin: false })
    } finally {
      await srv.stop()
    }
  })
})
