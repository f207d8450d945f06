// Step-up with a real OpenID provider and headless Chromium (issue 13): a rule asks for a sign-in at most
// 3 s old. Once the login is older, the signing answer says so; ssh-gen on a terminal opens the browser for
// a fresh sign-in (prompt=login at jitssh-server and at the provider, which authenticates again) and gets
// its certificate; without a terminal it says so in one line and exits 4.
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { completeBrowserLogin, launchChromium } from '../helpers/chromium.js'
import { makeTempHome, removeTempHome, runCli } from '../helpers/cli.js'
import { startOidcProvider, type RunningOidcProvider } from '../helpers/oidc-provider.js'
import { startTestServer, type TestServer } from '../helpers/server.js'

let idp: RunningOidcProvider
let srv: TestServer
let browser: Browser
let home: string
const opened: string[] = []

beforeAll(async () => {
  ;[idp, browser, home] = await Promise.all([
    startOidcProvider({ accounts: { alice: { email: 'alice@example.com', groups: ['dev'] } }, refreshTokens: true }),
    launchChromium(),
    makeTempHome(),
  ])
  srv = await startTestServer({
    oidc: { issuer: idp.issuer, client_id: 'jitssh', client_secret: 'test-secret', scopes: ['openid', 'email', 'profile', 'groups'], allow_insecure_issuer: true },
    policy: [{ name: 'fresh-only', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'], when: { max_auth_age: '3s' } }],
  })
  await idp.registerClient({ client_id: 'jitssh', client_secret: 'test-secret', redirect_uris: [`${srv.url}/oidc/callback`] })
})
/** completeBrowserLogin() runs started by the CLI's openBrowser. */
const browserLogins: Array<Promise<unknown>> = []
afterAll(async () => {
  await Promise.allSettled(browserLogins)
  await Promise.allSettled([srv?.stop(), idp?.stop(), browser?.close()])
  if (home) await removeTempHome(home)
})

/** The CLI in-process, its browser being headless Chromium (the provider signs the test's account in). */
const cli = (argv: string[], tty: boolean) =>
  runCli(argv, {
    home, isTTY: tty, env: { DISPLAY: ':0' },
    openBrowser: async (url) => {
      opened.push(url)
      // The CLI goes on once the code reaches its loopback page; the page's own last steps finish here, and
      // afterAll waits for them before it closes the browser (else: 'Target page ... has been closed').
      browserLogins.push(completeBrowserLogin(browser, url, { username: 'unused', password: 'unused' }).catch(() => undefined))
    },
  })

describe('step-up through the identity provider', () => {
  it('signs, then asks for a fresh sign-in once the login is older than max_auth_age, and gets it in the browser', async () => {
    const login = await cli(['login', '--server', srv.url], false)
    expect(login.code, login.stderr).toBe(0)
    const first = await cli(['ssh-gen', '--hostname', 'vm.example.com'], false)
    expect(first.code, first.stderr).toBe(0)

    await new Promise((resolve) => setTimeout(resolve, 3_500)) // the rule's 3 s pass
    const silent = await cli(['ssh-gen', '--hostname', 'other.example.com'], false)
    expect(silent.code).toBe(4)
    expect(silent.stderr).toMatch(/^jitssh: access to other\.example\.com denied: rule "fresh-only" does not let alice@example\.com reach other\.example\.com now: it needs a sign-in of at most \d+[ms] ago: sign in again \(run: jitssh login --force\)\n$/)

    const before = opened.length
    const stepped = await cli(['ssh-gen', '--hostname', 'other.example.com'], true)
    expect(stepped.code, stepped.stderr).toBe(0)
    expect(stepped.stderr).toContain('signing in again')
    const url = new URL(opened[before]!)
    expect(url.searchParams.get('prompt')).toBe('login')
    // The provider was asked to authenticate again, and the new session's sign-in is fresh.
    const sessions = await srv.server.store.admin.listSessions({ now: Date.now(), includeEnded: false, limit: 10 })
    expect(Date.now() - sessions[0]!.auth!.time).toBeLessThan(3_000)
  })
})
