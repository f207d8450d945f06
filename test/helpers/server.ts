/**
 * A real jitssh-server for tests, on 127.0.0.1:0, from a real YAML config in a temp directory with freshly
 * generated keys. Use it from the server's, the CLI's and the end-to-end tests:
 *
 *   const srv = await startTestServer({ targets: { 'vm.example.com': `127.0.0.1:${sshd.port}` } })
 *   const tokens = await loginWithPassword(srv.url)            // code + PKCE through the login page
 *   ...
 *   await srv.stop()
 *
 * Defaults: local users alice (alice@example.com, groups [dev]) and bob (bob@example.com, groups [ops]), both
 * with password TEST_PASSWORD; policy "dev": group dev → "*.example.com" as {email_local}, 1h.
 *
 * Also here: `testClock()` (inject with `now`), `TestBrowser` (fetch with a cookie jar, manual redirects),
 * `submitLogin`, `authorizeInBrowser` and `loginWithPassword` (the login page and code + PKCE without a CLI),
 * `pkcePair`, `csrfTokenOf`, and `writeTestConfig` (just the config and keys, for a server started otherwise).
 * `srv.server.store` and `srv.server.context` (tunnels, sessions) are there for assertions; `wrapStore` puts
 * a test's own behaviour in front of a role of the real store (`withRole`).
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import type { Server as NetServer } from 'node:net'
import { PassThrough, Readable, Writable } from 'node:stream'
import { Agent, fetch as undiciFetch } from 'undici'
import { stringify } from 'yaml'
import { CLIENT_ID, type TokenResponse } from '../../src/shared/protocol.js'
import { createServer, type JitsshServer } from '../../src/server/app.js'
import { run as runServerCommand } from '../../src/server/commands/main.js'
import { generateAuditKeys } from '../../src/server/audit/audit-keys.js'
import { generateServerKeys, loadServerKeys, type ServerKeys } from '../../src/server/ca/server-keys.js'
import type { Signer } from '../../src/ssh/signer.js'
import { loadConfig } from '../../src/server/config/load-config.js'
import { openStore } from '../../src/server/store/open-store.js'
import type { Store } from '../../src/server/store/store.js'
import { hashPassword } from '../../src/server/identity/password-hash.js'

export const TEST_PASSWORD = 'correct horse battery staple'

export interface TestUser {
  username: string
  email: string
  groups: string[]
  password?: string
}

export const DEFAULT_USERS: TestUser[] = [
  { username: 'alice', email: 'alice@example.com', groups: ['dev'] },
  { username: 'bob', email: 'bob@example.com', groups: ['ops'] },
]

export const DEFAULT_POLICY = [{ name: 'dev', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'], max_ttl: '1h' }]

export interface TestServerOptions {
  /** hostname → "host:port" the bastion may connect to. */
  targets?: Record<string, string>
  /** Policy rules as in the YAML file (snake_case keys). */
  policy?: Array<Record<string, unknown>>
  users?: TestUser[]
  /** An `identity.oidc` block instead of local users (see test/helpers/oidc-provider.ts). */
  oidc?: Record<string, unknown>
  /** With `oidc`: keep the local users too (local accounts beside SSO). */
  localBesideOidc?: boolean
  /** Any other top-level config keys (sessions, oauth, rate_limits, certificates, admins, ...). */
  config?: Record<string, unknown>
  /** The server's clock (Unix ms); see `testClock()`. */
  now?: () => number
  /** Receives the JSON log lines (default: dropped). */
  logStream?: NodeJS.WritableStream
  /** Wraps the configured store (e.g. to hold or fail its audit writes); the real one is closed on stop. */
  wrapStore?: (store: Store) => Store
  /** Signs user certificates instead of keys_dir/user_ca (see createServer's deps). */
  userCaSigner?: (keys: ServerKeys) => Signer
}

export interface TestServer {
  url: string
  configPath: string
  dir: string
  /** The running server (a new one after `restart`). */
  server: JitsshServer
  /**
   * Stops the server and starts it again on the same address, database and keys, with the config rewritten
   * from the original options and `changes` (e.g. a user removed, other groups, another policy).
   */
  restart(changes?: TestServerOptions): Promise<void>
  stop(): Promise<void>
}

/** A clock to inject: starts at the real time and moves only when told. */
export function testClock(start = Date.now()): { now: () => number; advance(ms: number): void } {
  let current = start
  // Whole milliseconds, as Date.now() gives them (the stores refuse fractional numbers).
  return { now: () => current, advance: (ms) => void (current += Math.ceil(ms)) }
}

/** Writes the config and keys into a fresh temp dir; returns the config path. */
export async function writeTestConfig(dir: string, options: TestServerOptions = {}): Promise<string> {
  // Fresh keys, as init writes them, unless the test brings its own (config.keys_dir), e.g. to start sshd with
  // the CA first; a restart keeps the ones it has.
  if (options.config?.keys_dir === undefined && !existsSync(join(dir, 'keys'))) {
    generateServerKeys(join(dir, 'keys'))
    generateAuditKeys(join(dir, 'keys'))
  }
  // Cheap scrypt (N=1024) keeps the tests fast; production hashes use N=32768.
  const users = await Promise.all(
    (options.users ?? DEFAULT_USERS).map(async (user) => ({
      username: user.username,
      email: user.email,
      groups: user.groups,
      password_hash: await hashPassword(user.password ?? TEST_PASSWORD, { N: 1024, r: 8, p: 1 }),
    })),
  )
  const config = {
    listen: '127.0.0.1:0',
    storage: { sqlite: 'jitssh.db' },
    keys_dir: 'keys',
    identity: options.oidc ? { oidc: options.oidc, ...(options.localBesideOidc ? { local: { users } } : {}) } : { local: { users } },
    policy: options.policy ?? DEFAULT_POLICY,
    targets: options.targets ?? {},
    ...options.config,
  }
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, stringify(config), { mode: 0o600 })
  return configPath
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'jitssh-server-'))
  const configPath = await writeTestConfig(dir, options)
  let running = await serveConfig(configPath, options)
  const srv: TestServer = {
    url: running.url,
    configPath,
    dir,
    server: running.server,
    async restart(changes = {}) {
      // The same directory (database, keys) and the same address, so tokens keep their issuer.
      await running.stop()
      const port = new URL(srv.url).port
      const next = { ...options, ...changes, config: { ...options.config, ...changes.config, keys_dir: options.config?.keys_dir ?? 'keys', listen: `127.0.0.1:${port}` } }
      await writeTestConfig(dir, next)
      running = await serveConfig(configPath, next)
      srv.server = running.server
    },
    async stop() {
      await running.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return srv
}

async function serveConfig(configPath: string, options: TestServerOptions): Promise<{ url: string; server: JitsshServer; stop(): Promise<void> }> {
  const logStream = options.logStream ?? new Writable({ write: (_chunk, _encoding, done) => done() })
  const config = loadConfig(configPath)
  const userCaSigner = options.userCaSigner?.(await loadServerKeys(config.keysDir))
  const ownStore = options.wrapStore ? await openStore(config.storage, { listenForRevocations: true }) : undefined
  const server = await createServer(config, {
    ...(options.now ? { now: options.now } : {}), logStream, ...(userCaSigner ? { userCaSigner } : {}), ...(ownStore ? { store: options.wrapStore!(ownStore) } : {}),
  })
  const url = await server.listen()
  return {
    url,
    server,
    async stop() {
      await server.close()
      await ownStore?.close()
    },
  }
}

/** A fetch-based browser: keeps cookies per origin, follows nothing by itself. */
export class TestBrowser {
  private readonly jar = new Map<string, Map<string, string>>()
  private readonly dispatcher: Agent | undefined

  /** `localAddress`: connect from this address (e.g. 127.0.0.2: another machine, as the server sees it). */
  constructor(options: { localAddress?: string } = {}) {
    this.dispatcher = options.localAddress ? new Agent({ localAddress: options.localAddress }) : undefined
  }

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url)
    const cookies = this.jar.get(target.origin) ?? new Map<string, string>()
    const headers: Record<string, string> = { ...init.headers }
    if (cookies.size > 0) headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded'
    const response = (await undiciFetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    })) as unknown as Response
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq)
      const value = pair!.slice(eq + 1)
      if (/max-age=0/i.test(line)) cookies.delete(name)
      else cookies.set(name, value)
    }
    this.jar.set(target.origin, cookies)
    return response
  }

  /** The Cookie header this browser sends to `url` (e.g. for a WebSocket opened with another client). */
  cookieHeader(url: string): string {
    return [...(this.jar.get(new URL(url).origin) ?? [])].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  /** GETs `url` and follows redirects within `origins` (default: url's own); returns the last response. */
  async follow(url: string, origins: string[] = [new URL(url).origin]): Promise<{ response: Response; url: string }> {
    let current = url
    for (let hops = 0; hops < 10; hops++) {
      const response = await this.request(current)
      const location = response.headers.get('location')
      if (response.status < 300 || response.status >= 400 || !location) return { response, url: current }
      const next = new URL(location, current)
      if (!origins.includes(next.origin)) return { response, url: current }
      current = next.href
    }
    throw new Error('too many redirects')
  }
}

export function csrfTokenOf(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html)
  if (!match) throw new Error(`no csrf_token in page:\n${html.slice(0, 500)}`)
  return match[1]!
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Signs in on the login page the browser is sent to; returns the response to the login POST. */
export async function submitLogin(browser: TestBrowser, loginPageUrl: string, username: string, password: string): Promise<Response> {
  const page = await browser.request(loginPageUrl)
  const html = await page.text()
  const returnTo = /name="return_to" value="([^"]*)"/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? '/device'
  return browser.request(new URL('/login', loginPageUrl).href, { form: { username, password, csrf_token: csrfTokenOf(html), return_to: returnTo } })
}

/**
 * The CLI's browser flow without the CLI: /authorize → login page → back to /authorize → the loopback
 * redirect (not listened on; its URL is read) → POST /token with the verifier.
 */
export async function loginWithPassword(url: string, user = 'alice', password = TEST_PASSWORD): Promise<TokenResponse & { session_id: string }> {
  const browser = new TestBrowser()
  const { code, redirectUri, verifier } = await authorizeInBrowser(browser, url, user, password)
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: CLIENT_ID }),
  })
  if (response.status !== 200) throw new Error(`token endpoint: ${response.status} ${await response.text()}`)
  const tokens = (await response.json()) as TokenResponse
  const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { sid: string }
  return { ...tokens, session_id: payload.sid }
}

/** Runs /authorize through the login page; returns the code from the loopback redirect. */
export async function authorizeInBrowser(
  browser: TestBrowser,
  url: string,
  user = 'alice',
  password = TEST_PASSWORD,
  redirectUri = 'http://127.0.0.1:49152/callback',
): Promise<{ code: string; state: string; redirectUri: string; verifier: string }> {
  const { verifier, challenge } = pkcePair()
  const state = randomBytes(16).toString('base64url')
  const query = new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state })
  let step = await browser.follow(`${url}/authorize?${query}`)
  if (new URL(step.url).pathname === '/login') {
    const posted = await submitLogin(browser, step.url, user, password)
    if (posted.status !== 303) throw new Error(`login failed: ${posted.status}`)
    const next = new URL(posted.headers.get('location')!, url)
    // A refused person is sent straight back to the loopback redirect with the error (refused-login.ts).
    if (next.origin !== new URL(url).origin) throw new Error(`authorize returned an error: ${next.href}`)
    step = await browser.follow(next.href)
  }
  const location = step.response.headers.get('location')
  if (!location) throw new Error(`no redirect from /authorize: ${step.response.status} ${await step.response.text()}`)
  const back = new URL(location)
  const code = back.searchParams.get('code')
  if (!code) throw new Error(`authorize returned an error: ${location}`)
  return { code, state: back.searchParams.get('state') ?? '', redirectUri, verifier }
}

/** Runs the server CLI (`jitssh-server ARGV`) in-process with buffers; `start` returns at once (its stop signal has fired). */
export async function runServerCli(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const code = await runServerCommand(argv, { stdin: Readable.from([stdin]), stdout, stderr, stopSignal: Promise.resolve() })
  return { code, stdout: out, stderr: err }
}

/** Listens on 127.0.0.1 with a port from the kernel; resolves with the port. */
export async function listenOnLoopback(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as { port: number }).port
}

/** `store` with one role replaced (the other roles, and the methods, are the real store's). */
export function withRole<K extends keyof Store>(store: Store, role: K, replacement: Store[K]): Store {
  return Object.assign(Object.create(store) as Store, { [role]: replacement })
}
