// Issue 18: every answer of the server is checked where it comes in (src/client/server-answers.ts): shape,
// types, sizes, ranges. A malformed answer ends the command with one line that names the answer and the
// field, `jitssh: the server sent an invalid <what>: <field>: expected ...`, never an internal error, and
// nothing but the checked fields of a discovery document is kept.
import { readFile, stat } from 'node:fs/promises'
import { beforeEach, describe, expect, it } from 'vitest'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { runCli, seedSession, type CliOptions } from '../helpers/cli.js'
import { sendJson, TOKENS, useFakeJitssh, WHO_AM_I } from '../helpers/fake-jitssh.js'

const t = useFakeJitssh()
let sleeps: number[]
beforeEach(() => {
  sleeps = []
})

/** Device polls sleep on a fake clock: each sleep is recorded, and advances the clock. */
function deviceClock(): Pick<CliOptions, 'now' | 'sleep'> {
  let offset = 0
  return {
    now: () => Date.now() + offset,
    sleep: async (ms) => {
      sleeps.push(ms)
      offset += ms
    },
  }
}

const login = () => runCli(['login', '--server', t.fake.url, '--device'], { home: t.home, ...deviceClock() })

/** The discovery document the fake serves, changed by `change`. */
async function changeDiscovery(change: (doc: Record<string, any>) => void): Promise<void> {
  const doc = await (await fetch(`${t.fake.url}/.well-known/jitssh`)).json() as Record<string, any>
  change(doc)
  t.fake.routes.set('/.well-known/jitssh', (_req, res) => sendJson(res, 200, doc))
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(pattern)
  expect(stderr).not.toMatch(/internal error/)
  expect(stderr.trimEnd().split('\n').filter((line) => line.startsWith('jitssh:'))).toHaveLength(1)
}

describe('the discovery document', () => {
  it('only the fields the client uses are kept in config.json, each checked', async () => {
    await changeDiscovery((doc) => {
      doc.service_documentation = 'x'.repeat(50_000)
      doc.jitssh.extra = { nested: 'y'.repeat(5_000) }
    })
    const r = await login()
    expect(r.code).toBe(0)
    const config = jitsshPaths({}, t.home).config
    expect((await stat(config)).size).toBeLessThan(4_000)
    const kept = JSON.parse(await readFile(config, 'utf8')).servers[t.fake.url].discovery
    expect(Object.keys(kept).sort()).toEqual(['authorization_endpoint', 'device_authorization_endpoint', 'issuer', 'jitssh', 'revocation_endpoint', 'token_endpoint', 'userinfo_endpoint'])
    expect(Object.keys(kept.jitssh).sort()).toEqual(['admin_endpoint', 'client_id', 'host_ca_public_key', 'sign_endpoint', 'tunnel_endpoint', 'user_ca_public_key'])
  })

  it.each([
    ['jitssh.user_ca_public_key', (doc: Record<string, any>) => (doc.jitssh.user_ca_public_key = 42), /jitssh\.user_ca_public_key: expected one OpenSSH public key line \(got a number\)/],
    ['jitssh.host_ca_public_key', (doc: Record<string, any>) => (doc.jitssh.host_ca_public_key = 'ssh-ed25519 AAAA\nevil'), /jitssh\.host_ca_public_key: expected one OpenSSH public key line/],
    ['token_endpoint', (doc: Record<string, any>) => (doc.token_endpoint = ['x']), /token_endpoint: expected a string \(got a list\)/],
    ['sign_endpoint', (doc: Record<string, any>) => (doc.jitssh.sign_endpoint = 'http://evil.example.com/sign'), /jitssh\.sign_endpoint: expected an https URL/],
    ['issuer', (doc: Record<string, any>) => (doc.issuer = 'i'.repeat(5_000)), /issuer: expected a string of at most 2048 characters \(got 5000 characters\)/],
  ])('%s: refused, with a line that names it', async (_field, change, message) => {
    await changeDiscovery(change)
    const r = await login()
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, new RegExp(`^jitssh: the server sent an invalid discovery document: ${message.source}`))
  })
})

describe('the device authorization', () => {
  const device = (answer: Record<string, unknown>) => t.fake.routes.set('/device_authorization', (_req, res) => sendJson(res, 200, {
    device_code: 'dc', user_code: 'BCDF-GHJK', verification_uri: `${t.fake.url}/device`, expires_in: 600, interval: 5, ...answer,
  }))

  it.each([[1e9, 60_000], [0, 1_000], [-3, 1_000], [2.5, 2_500]])('an interval of %s s polls every %s ms', async (interval, ms) => {
    device({ interval })
    const r = await login()
    expect(r.code).toBe(0)
    expect(sleeps).toEqual([ms])
  })

  it.each([
    [{ user_code: '\x1b]0;owned\x07' }, /user_code: expected a code of letters, digits and dashes/],
    [{ interval: '5' }, /interval: expected a number \(got a string\)/],
    [{ device_code: undefined }, /device_code: expected a string \(got nothing\)/],
    [{ verification_uri: 'javascript:alert(1)' }, /verification_uri: expected an https URL/],
  ])('%o: refused', async (answer, message) => {
    device(answer)
    const r = await login()
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, new RegExp(`^jitssh: the server sent an invalid device authorization: ${message.source}`))
  })
})

describe('the token response', () => {
  const refreshWith = async (answer: Record<string, unknown>) => {
    t.fake.routes.set('/token', (_req, res) => sendJson(res, 200, { ...TOKENS, ...answer }))
    await seedSession(t.home, t.fake.url, { accessToken: 'at', refreshToken: 'rt' })
    // An hour on: the cached access token has expired, so ssh-gen refreshes it.
    return runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home: t.home, now: () => Date.now() + 3_600_000 })
  }

  it.each([
    [{ expires_in: 1e15 }, /expires_in: expected a whole number from 0 to 86400 \(got a number\)/],
    [{ expires_in: 'soon' }, /expires_in: expected a whole number from 0 to 86400 \(got a string\)/],
    [{ access_token: 'a\r\nX-Injected: 1' }, /access_token: expected a token of visible ASCII characters/],
    [{ refresh_token: 'r'.repeat(10_000) }, /refresh_token: expected a string of at most 4096 characters/],
    [{ session_expires_at: 42 }, /session_expires_at: expected a time in ISO 8601 \(got a number\)/],
  ])('%o: refused, nothing kept', async (answer, message) => {
    const r = await refreshWith(answer)
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, new RegExp(`^jitssh: the server sent an invalid token response: ${message.source}`))
    expect(JSON.parse(await readFile(jitsshPaths({}, t.home).credentials, 'utf8')).servers[t.fake.url].refresh_token).toBe('rt')
  })
})

describe('the sign response and /v1/me', () => {
  it.each([
    [null, /^jitssh: the server sent an invalid sign response: expected an object \(got nothing\)/],
    [{ certificate: 42 }, /^jitssh: the server sent an invalid sign response: certificate: expected a string \(got a number\)/],
  ])('sign answer %o: one line', async (answer, message) => {
    t.fake.routes.set('/v1/ssh/sign', (_req, res) => (answer === null ? void res.writeHead(200).end() : sendJson(res, 200, answer)))
    await seedSession(t.home, t.fake.url, { accessToken: 'at', refreshToken: 'rt' })
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home: t.home })
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, message)
  })

  it.each([
    [{ groups: 'dev' }, /groups: expected a list \(got a string\)/],
    [{ session_expires_at: 'next tuesday' }, /session_expires_at: expected a time in ISO 8601/],
    [{ email: { address: 'a@b' } }, /email: expected a string \(got an object\)/],
  ])('status with /v1/me %o says the identity is unknown, and why', async (answer, message) => {
    t.fake.routes.set('/v1/me', (_req, res) => sendJson(res, 200, { ...WHO_AM_I, ...answer }))
    await seedSession(t.home, t.fake.url, { accessToken: 'at', refreshToken: 'rt' })
    const r = await runCli(['status'], { home: t.home })
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(new RegExp(`^Logged in as: unknown \\(the server sent an invalid identity \\(/v1/me\\): ${message.source}`, 'm'))
  })
})

describe('admin answers', () => {
  beforeEach(async () => {
    await seedSession(t.home, t.fake.url, { accessToken: 'at', refreshToken: 'rt' })
  })

  it.each([
    [['sessions'], '/v1/admin/sessions', { sessions: 'x' }, /session list: sessions: expected a list \(got a string\)/],
    [['sessions'], '/v1/admin/sessions', { sessions: [{ session_id: 's', user: 'u', created_at: 'never', expires_at: 'never', live_tunnels: 0 }] }, /session list: sessions\[0\]\.created_at: expected a time in ISO 8601/],
    [['audit'], '/v1/admin/audit', { events: [{ seq: 1, time: 'yesterday', type: 'login', outcome: 'ok', detail: {}, hash: 'h' }], next_cursor: null }, /audit page: events\[0\]\.time: expected a time in ISO 8601/],
    [['audit'], '/v1/admin/audit', { events: [], next_cursor: 'again' }, /audit page: next_cursor: expected null after a page with no events/],
    [['revoke', '--user', 'bob'], '/v1/admin/revoke', { user: 'bob', revoked_sessions: 5, tunnels_closed: 0 }, /admin answer: revoked_sessions: expected a list \(got a number\)/],
    [['user', 'list-disabled'], '/v1/admin/users/disabled', { users: [{ user: 'bob', disabled_at: 7 }] }, /admin answer: users\[0\]\.disabled_at: expected a time in ISO 8601 \(got a number\)/],
  ])('%j with %s answering %j: one line', async (argv, path, answer, message) => {
    t.fake.routes.set(path, (_req, res) => sendJson(res, 200, answer))
    const stop = new AbortController()
    const guard = setTimeout(() => stop.abort(), 5_000) // an endless cursor loop would never end by itself
    const r = await runCli(argv, { home: t.home, signal: stop.signal }).finally(() => clearTimeout(guard))
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, new RegExp(`^jitssh: the server sent an invalid ${message.source}`))
  })
})
