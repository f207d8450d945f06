// jitssh login / status / logout, in-process against the real server on 127.0.0.1:0.
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CLIENT_ID } from '../../src/shared/protocol.js'
import type { Keychain } from '../../src/client/context.js'
import { accessTokenPath } from '../../src/client/auth/credentials.js'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { makeTempHome, removeTempHome, runCli, type CliOptions } from '../helpers/cli.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { createStubBrowser } from '../helpers/stub-browser.js'

let srv: TestServer
let home: string
let dead: string // a loopback URL nothing listens on

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  await new Promise((r) => server.close(r))
  return port
}
const DISPLAY = { DISPLAY: ':0' } // a browser can open (Linux with a display)

beforeAll(async () => {
  srv = await startTestServer({ config: { oauth: { device_poll_interval: '1s' } } })
  dead = `http://127.0.0.1:${await closedPort()}`
})
afterAll(async () => {
  await srv.stop()
})
beforeEach(async () => {
  home = await makeTempHome()
})
afterEach(async () => {
  await removeTempHome(home)
})

const paths = () => jitsshPaths({}, home)
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, any>
const mode = async (file: string) => (await stat(file)).mode & 0o777

async function refreshTokenWorks(refreshToken: string): Promise<boolean> {
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID }),
  })
  return response.status === 200
}

export async function browserLogin(h: string, extra: Partial<CliOptions> = {}, flags: string[] = []) {
  const browser = createStubBrowser()
  const r = await runCli(['login', '--server', srv.url, ...flags], { home: h, env: DISPLAY, openBrowser: browser.open, ...extra })
  return { r, browser }
}

describe('jitssh login (browser)', () => {
  it('logs in through the loopback redirect and keeps what the other commands need', async () => {
    const { r, browser } = await browserLogin(home)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('')
    expect(browser.opened).toHaveLength(1)
    const authorize = new URL(browser.opened[0]!)
    expect(r.stderr).toContain(authorize.href) // the URL is always printed too
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorize.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/)
    expect(authorize.searchParams.get('state')).toMatch(/^[\w-]{20,}$/)
    expect(r.stderr).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+ as alice@example\.com/)
    const page = await browser.result()
    expect(page.status).toBe(200)
    expect(page.text).toContain('You are logged in to jitssh')

    const p = paths()
    expect(await mode(p.home)).toBe(0o700)
    expect(await mode(p.credentials)).toBe(0o600)
    const creds = await readJson(p.credentials)
    expect(typeof creds.servers[srv.url].refresh_token).toBe('string')
    expect(await mode(accessTokenPath(p, srv.url))).toBe(0o600)
    const config = await readJson(p.config)
    expect(config.default_server).toBe(srv.url)
    expect(config.servers[srv.url].credential_store).toBe('file')
    const knownHosts = await readFile(p.knownHosts, 'utf8')
    const discovery = await (await fetch(`${srv.url}/.well-known/jitssh`)).json() as { jitssh: { host_ca_public_key: string } }
    const caKey = discovery.jitssh.host_ca_public_key.split(' ').slice(0, 2).join(' ')
    expect(knownHosts).toBe(`@cert-authority * ${caKey} jitssh:${srv.url}\n`)
    expect(r.stderr).not.toContain('warning') // file store forced: no keychain warning
  })

  it('a second login while the session is good says so, opens nothing and changes nothing', async () => {
    await browserLogin(home)
    const before = await readFile(paths().credentials, 'utf8')
    const { r, browser } = await browserLogin(home)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^Already logged in to http:\/\/127\.0\.0\.1:\d+ as alice@example\.com \(session valid until .*\)\. To log in again: jitssh login --force\n$/)
    expect(browser.opened).toEqual([])
    expect(await readFile(paths().credentials, 'utf8')).toBe(before)
  })

  it('on a terminal, asks before logging in again', async () => {
    await browserLogin(home)
    const declined = await browserLogin(home, { isTTY: true, stdin: Readable.from(['n\n']) })
    expect(declined.r.stderr).toContain('Log in again? [y/N] ')
    expect(declined.browser.opened).toEqual([])
    const accepted = await browserLogin(home, { isTTY: true, stdin: Readable.from(['y\n']) })
    expect(accepted.r.code, accepted.r.stderr).toBe(0)
    expect(accepted.browser.opened).toHaveLength(1)
  })

  it('a second login with --force replaces the session, signing in afresh, and revokes the old refresh token', async () => {
    await browserLogin(home)
    const first = (await readJson(paths().credentials)).servers[srv.url].refresh_token as string
    const { r, browser } = await browserLogin(home, {}, ['--force'])
    expect(r.code).toBe(0)
    expect(new URL(browser.opened[0]!).searchParams.get('prompt')).toBe('login')
    const second = (await readJson(paths().credentials)).servers[srv.url].refresh_token as string
    expect(second).not.toBe(first)
    expect(await refreshTokenWorks(first)).toBe(false)
    expect((await readFile(paths().knownHosts, 'utf8')).trim().split('\n')).toHaveLength(1)
  })

  it('uses the remembered server when --server is left out', async () => {
    await browserLogin(home)
    const browser = createStubBrowser()
    const r = await runCli(['login', '--force'], { home, env: DISPLAY, openBrowser: browser.open })
    expect(r.code).toBe(0)
    expect(browser.opened[0]).toContain(srv.url)
  })

  it('--no-browser prints the URL and does not open a browser', async () => {
    const browser = createStubBrowser()
    let started = false
    const r = await runCli(['login', '--server', srv.url, '--no-browser'], {
      home,
      env: DISPLAY,
      onStderr: (text) => {
        const url = /(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(text)?.[1]
        if (url && !started) {
          started = true
          void browser.completeLogin(url)
        }
      },
    })
    expect(r.code, r.stderr).toBe(0)
    expect(started).toBe(true)
  })

  it('ignores a callback with the wrong state and still completes', async () => {
    const browser = createStubBrowser()
    const r = await runCli(['login', '--server', srv.url], {
      home,
      env: DISPLAY,
      openBrowser: async (url) => {
        const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!)
        const forged = await fetch(`${redirect.href}?code=forged&state=wrong`)
        expect(forged.status).toBe(400)
        await browser.open(url)
      },
    })
    expect(r.code, r.stderr).toBe(0)
  })

  it('times out with a hint when the browser never comes back', async () => {
    const browser = createStubBrowser({ idle: true })
    const r = await runCli(['login', '--server', srv.url], { home, env: { ...DISPLAY, JITSSH_LOGIN_TIMEOUT_MS: '300' }, openBrowser: browser.open })
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/jitssh: login timed out after 0 s \(.*jitssh login --device/)
    await expect(stat(paths().credentials)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('a wrong password at the login page: no answer reaches the CLI, which stops at its login timeout (exit 4) and keeps nothing', async () => {
    const browser = createStubBrowser({ password: 'wrong' })
    let refusedAt: number | undefined
    const started = Date.now()
    const r = await runCli(['login', '--server', srv.url], {
      home,
      env: { ...DISPLAY, JITSSH_LOGIN_TIMEOUT_MS: '1500' },
      openBrowser: async (url) => {
        await browser.open(url)
        browser.result().catch(() => (refusedAt = Date.now()))
      },
    })
    const returnedAt = Date.now()
    // The server refused the password and showed its form again, so the loopback callback never came.
    await expect(browser.result()).rejects.toThrow(/login failed \(401\)/)
    expect(refusedAt).toBeDefined()
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('jitssh: login timed out after 2 s (run jitssh login again, or jitssh login --device if the browser cannot reach this machine)')
    // It waited out JITSSH_LOGIN_TIMEOUT_MS after the refusal, and not much longer: not a hang.
    expect(returnedAt - started).toBeGreaterThanOrEqual(1500)
    expect(returnedAt - started).toBeLessThan(10_000)
    expect(returnedAt).toBeGreaterThan(refusedAt!)
    await expect(stat(paths().credentials)).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(stat(accessTokenPath(paths(), srv.url))).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await readJson(paths().config)).default_server).toBeUndefined()
  })

  it('an unreachable server: exit 1, one line that says so', async () => {
    const r = await runCli(['login', '--server', dead], { home, env: DISPLAY })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`jitssh: cannot reach ${dead}: ECONNREFUSED (check the network, the server URL and HTTPS_PROXY/NO_PROXY)\n`)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('a URL that is not a jitssh server', async () => {
    const r = await runCli(['login', '--server', `${srv.url}/nothing-here`], { home, env: DISPLAY })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/does not look like a jitssh server/)
  })

  it('--debug adds the cause chain', async () => {
    const r = await runCli(['login', '--server', dead, '--debug'], { home, env: DISPLAY })
    expect(r.stderr).toMatch(/code: ERR_NETWORK\n\s+caused by: /)
  })
})

describe('jitssh login (device)', () => {
  async function deviceLogin(env: Record<string, string>, action: 'approve' | 'deny', args: string[] = []) {
    const browser = createStubBrowser()
    let answered: Promise<string> | undefined
    const r = await runCli(['login', '--server', srv.url, ...args], {
      home,
      env,
      onStderr: (text) => {
        const url = /(http:\/\/\S+\/device\?user_code=\S+)/.exec(text)?.[1]
        if (url && !answered) answered = browser.answerDevice(url, action)
      },
    })
    return { r, page: await answered }
  }

  it('is chosen automatically over SSH and completes when approved', async () => {
    const { r, page } = await deviceLogin({ SSH_CONNECTION: '10.0.0.1 5000 10.0.0.2 22' }, 'approve')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/shows the code [A-Z0-9]{4}-[A-Z0-9]{4}:\n\n {4}http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z0-9]{4}-[A-Z0-9]{4}\n/)
    expect(page).toContain('Device approved')
    expect(r.stderr).toContain('Logged in to')
  })

  it('is chosen on Linux without a display, and with --device', async () => {
    expect((await deviceLogin({}, 'approve')).r.code).toBe(0)
    expect((await deviceLogin(DISPLAY, 'approve', ['--device'])).r.code).toBe(0)
  })

  it('a denial ends with exit 4 and ERR_LOGIN_DENIED wording', async () => {
    const { r } = await deviceLogin({}, 'deny')
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/^jitssh: the login was denied in the browser/m)
  })
})

describe('a disabled person logging in', () => {
  beforeEach(async () => {
    await srv.server.store.users.setDisabled('bob@example.com', true, Date.now(), null, 'test')
  })
  afterEach(async () => {
    await srv.server.store.users.setDisabled('bob@example.com', false, Date.now(), null, null)
  })
  const disabledLine = /^jitssh: account disabled: bob@example\.com has been disabled by an administrator of this server \(ask an administrator of http:\/\/127\.0\.0\.1:\d+ to enable your account\)$/m

  it('device flow: "account disabled" on the next poll (exit 4), not a wait until the code expires', async () => {
    const browser = createStubBrowser({ username: 'bob' })
    let signedIn = 0
    let answered: Promise<unknown> | undefined
    const r = await runCli(['login', '--server', srv.url, '--device'], {
      home,
      onStderr: (text) => {
        const url = /(http:\/\/\S+\/device\?user_code=\S+)/.exec(text)?.[1]
        // bob signs in on the device page; the sign-in page refuses him (he never reaches approve).
        if (url && !answered) answered = browser.answerDevice(url).catch(() => (signedIn = Date.now()))
      },
    })
    const ended = Date.now()
    await answered
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(disabledLine)
    expect(r.stderr).not.toMatch(/expired/)
    expect(ended - signedIn).toBeLessThan(3_000) // one poll interval (1 s here), not the code's 10 minutes
    await expect(stat(paths().credentials)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('browser flow: the sign-in page sends the refusal to the waiting CLI at once (exit 4)', async () => {
    const browser = createStubBrowser({ username: 'bob' })
    const started = Date.now()
    const r = await runCli(['login', '--server', srv.url], { home, env: { ...DISPLAY, JITSSH_LOGIN_TIMEOUT_MS: '60000' }, openBrowser: browser.open })
    expect(Date.now() - started).toBeLessThan(10_000) // not the minute the CLI would wait for its callback
    expect(browser.opened).toHaveLength(1)
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(disabledLine)
  })
})

describe('credential store', () => {
  it('uses the keychain when it works, and no credentials file', async () => {
    const store = new Map<string, string>()
    const keychain: Keychain = {
      backend: 'Secret Service',
      get: async (s, a) => store.get(`${s}/${a}`) ?? null,
      set: async (s, a, v) => void store.set(`${s}/${a}`, v),
      delete: async (s, a) => store.delete(`${s}/${a}`),
    }
    const { r } = await browserLogin(home, { keychain, env: { ...DISPLAY, JITSSH_CREDENTIAL_STORE: undefined } })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(store.get(`jitssh/${srv.url}`)!).refresh_token).toEqual(expect.any(String))
    await expect(stat(paths().credentials)).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await readJson(paths().config)).servers[srv.url].credential_store).toBe('keychain')
    // status reads it back from the keychain (after the cached access token is gone)
    await writeFile(accessTokenPath(paths(), srv.url), '{}')
    const status = await runCli(['status', '--json'], { home, keychain, env: { JITSSH_CREDENTIAL_STORE: undefined } })
    expect(JSON.parse(status.stdout).identity.email).toBe('alice@example.com')
    expect(JSON.parse(status.stdout).credentials).toEqual({ store: 'keychain', backend: 'Secret Service' })
    expect((await runCli(['status'], { home, keychain, env: { JITSSH_CREDENTIAL_STORE: undefined } })).stdout).toContain('Login kept:   in the OS keychain (Secret Service)\n')
  })

  it('a keychain that forgets at reboot (Linux\'s kernel keyring, without a Secret Service) is not used: the 0600 file is, and status says so', async () => {
    const store = new Map<string, string>()
    const keyring: Keychain = {
      backend: 'the kernel keyring',
      persistent: false,
      get: async (s, a) => store.get(`${s}/${a}`) ?? null,
      set: async (s, a, v) => void store.set(`${s}/${a}`, v),
      delete: async (s, a) => store.delete(`${s}/${a}`),
    }
    const { r } = await browserLogin(home, { keychain: keyring, env: { ...DISPLAY, JITSSH_CREDENTIAL_STORE: undefined } })
    expect(r.code, r.stderr).toBe(0)
    expect(store.size).toBe(0)
    expect(r.stderr).toContain(`warning: no usable OS keychain (the kernel keyring forgets everything at reboot); keeping the login in ${paths().credentials} (mode 0600)`)
    expect(await mode(paths().credentials)).toBe(0o600)
    const status = await runCli(['status'], { home, keychain: keyring, env: { JITSSH_CREDENTIAL_STORE: undefined } })
    expect(status.stdout).toContain(`Login kept:   in ${paths().credentials} (mode 0600)\n`)
  })

  it('falls back to a 0600 file with one warning when the keychain hangs', async () => {
    const hanging: Keychain = { get: () => new Promise(() => undefined), set: () => new Promise(() => undefined), delete: () => new Promise(() => undefined) }
    const options = { keychain: hanging, keychainTimeoutMs: 100, env: { ...DISPLAY, JITSSH_CREDENTIAL_STORE: undefined } }
    const first = (await browserLogin(home, options)).r
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr.match(/warning: no usable OS keychain \(the OS keychain did not answer within 0\.1 s\)/g)).toHaveLength(1)
    expect(await mode(paths().credentials)).toBe(0o600)
    const second = (await browserLogin(home, options)).r
    expect(second.code).toBe(0)
    expect(second.stderr).not.toContain('warning')
  })
})

describe('jitssh status', () => {
  it('shows server, identity, session expiry and certificates; --json for scripts', async () => {
    await browserLogin(home)
    const text = await runCli(['status'], { home })
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(`Server:       ${srv.url}`)
    expect(text.stdout).toContain('Logged in as: alice@example.com (groups: dev)')
    expect(text.stdout).toMatch(/Session: {6}valid until \d{4}-/)
    expect(text.stdout).toContain('Certificates: none')
    const json = await runCli(['status', '--json'], { home })
    const report = JSON.parse(json.stdout)
    expect(report).toMatchObject({ server: srv.url, logged_in: true, identity: { email: 'alice@example.com', groups: ['dev'] } })
    expect(Date.parse(report.session_expires_at)).toBeGreaterThan(Date.now())
  })

  it('not logged in: exit 4 and says what to do', async () => {
    const r = await runCli(['status'], { home })
    expect(r.code).toBe(4)
    expect(r.stdout).toContain('Logged in:    no (run: jitssh login)')
  })

  it('server unreachable: identity unknown, says why', async () => {
    await browserLogin(home)
    const config = await readJson(paths().config)
    // Point the remembered endpoints at a closed port and drop the cached access token.
    config.servers[srv.url].discovery.userinfo_endpoint = `${dead}/v1/me`
    config.servers[srv.url].discovery.token_endpoint = `${dead}/token`
    await writeFile(paths().config, JSON.stringify(config))
    await writeFile(accessTokenPath(paths(), srv.url), '{}')
    const r = await runCli(['status', '--json'], { home })
    const report = JSON.parse(r.stdout)
    expect(report.logged_in).toBe(true)
    expect(report.identity).toBeNull()
    expect(report.identity_error).toContain(`cannot reach ${dead}`)
  })
})

describe('jitssh logout', () => {
  it('revokes the session at the server and removes credentials, certificates and the CA line', async () => {
    await browserLogin(home)
    const refresh = (await readJson(paths().credentials)).servers[srv.url].refresh_token as string
    const gen = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home })
    expect(gen.code, gen.stderr).toBe(0)
    const r = await runCli(['logout'], { home })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/Logged out of .*removed 1 certificate/)
    expect(await refreshTokenWorks(refresh)).toBe(false)
    expect((await readJson(paths().credentials)).servers[srv.url]).toBeUndefined()
    await expect(stat(join(paths().certs, 'vm.example.com'))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(stat(join(paths().certs, 'vm.example.com-cert.pub'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await readFile(paths().knownHosts, 'utf8')).toBe('')
    const status = await runCli(['status'], { home })
    expect(status.code).toBe(4)
  })

  it('when the server is unreachable: local files go, exit 1 says the session stays valid', async () => {
    await browserLogin(home)
    const config = await readJson(paths().config)
    config.servers[srv.url].discovery.revocation_endpoint = `${dead}/revoke`
    await writeFile(paths().config, JSON.stringify(config))
    const r = await runCli(['logout'], { home })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^jitssh: removed the local credentials, but could not end the session at .*stays valid/)
    expect((await readJson(paths().credentials)).servers[srv.url]).toBeUndefined()
  })

  it('not logged in: nothing to do, exit 0', async () => {
    const r = await runCli(['logout'], { home })
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('Not logged in')
  })
})
