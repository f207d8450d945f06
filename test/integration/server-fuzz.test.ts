// Issue 18, as a property: whatever reaches the server's routes, it never answers 5xx, on SQLite as on
// PostgreSQL, and logs no error (an error-level line is a bug: expected refusals are not errors). Each
// generated request starts valid for its route (the right fields, credentials and encoding) and then a few
// mutations make it hostile: a field set to a string with NUL, a control character, a lone surrogate or a
// bidi override inside an otherwise valid value, to a huge value or a wrong JSON type; a field dropped or
// repeated; another method, content type, encoding or credential (none, garbage, another person's, an
// admin's, a signed-in browser's). Seeded; each property stops after a few seconds. To search longer:
// FUZZ_MS=60000 FUZZ_SEED=7 npx vitest run test/integration/server-fuzz.test.ts (FUZZ_STATS=1: what was answered).
import { Writable } from 'node:stream'
import fc from 'fast-check'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID } from '../../src/shared/protocol.js'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { startPostgres, type TestPostgres } from '../helpers/postgres.js'
import { DEFAULT_USERS, TEST_PASSWORD, csrfTokenOf, loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'

const TIME_LIMIT_MS = Number(process.env.FUZZ_MS ?? 4_000)
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)

type Who = 'nobody' | 'alice' | 'admin' | 'garbage' | 'browser'
type Encoding = 'json' | 'form' | 'query'

/** Each route with the fields it reads, how they arrive and who calls it. `:id` is a real access request's id until mutated. */
const ROUTES: Array<{ route: string; fields: string[]; encoding: Encoding; who: Who }> = [
  { route: 'GET /authorize', encoding: 'query', who: 'browser', fields: ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state'] },
  { route: 'POST /authorize', encoding: 'form', who: 'browser', fields: ['csrf_token', 'action', 'response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state'] },
  { route: 'GET /device', encoding: 'query', who: 'browser', fields: ['user_code'] },
  { route: 'POST /device', encoding: 'form', who: 'browser', fields: ['csrf_token', 'user_code', 'action'] },
  { route: 'POST /token', encoding: 'form', who: 'nobody', fields: ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_id', 'refresh_token', 'device_code'] },
  { route: 'POST /device_authorization', encoding: 'form', who: 'nobody', fields: ['client_id', 'scope'] },
  { route: 'POST /revoke', encoding: 'form', who: 'nobody', fields: ['token', 'token_type_hint', 'client_id'] },
  { route: 'GET /login', encoding: 'query', who: 'nobody', fields: ['return_to'] },
  { route: 'POST /login', encoding: 'form', who: 'browser', fields: ['username', 'password', 'csrf_token', 'return_to'] },
  { route: 'GET /logout', encoding: 'query', who: 'browser', fields: [] },
  { route: 'GET /v1/admin/audit', encoding: 'query', who: 'admin', fields: ['user', 'host', 'type', 'since', 'until', 'limit', 'order'] },
  { route: 'GET /v1/admin/sessions', encoding: 'query', who: 'admin', fields: ['all', 'user'] },
  { route: 'GET /v1/admin/tunnels', encoding: 'query', who: 'admin', fields: [] },
  { route: 'POST /v1/admin/revoke', encoding: 'json', who: 'admin', fields: ['user', 'reason'] },
  { route: 'POST /v1/admin/users/disable', encoding: 'json', who: 'admin', fields: ['user', 'reason'] },
  { route: 'POST /v1/admin/users/enable', encoding: 'json', who: 'admin', fields: ['user', 'reason'] },
  { route: 'GET /v1/admin/users/disabled', encoding: 'query', who: 'admin', fields: [] },
  { route: 'POST /v1/admin/reload', encoding: 'json', who: 'admin', fields: [] },
  { route: 'GET /v1/ssh/krl', encoding: 'query', who: 'nobody', fields: [] },
  { route: 'POST /v1/ssh/sign', encoding: 'json', who: 'alice', fields: ['public_key', 'hostname', 'ttl_seconds'] },
  { route: 'GET /v1/policy/explain', encoding: 'query', who: 'alice', fields: ['host', 'login'] },
  { route: 'GET /v1/hosts', encoding: 'query', who: 'alice', fields: [] },
  { route: 'GET /.well-known/jitssh', encoding: 'query', who: 'nobody', fields: [] },
  { route: 'GET /jwks', encoding: 'query', who: 'nobody', fields: [] },
  { route: 'GET /v1/me', encoding: 'query', who: 'alice', fields: [] },
  { route: 'GET /healthz', encoding: 'query', who: 'nobody', fields: [] },
  { route: 'GET /metrics', encoding: 'query', who: 'nobody', fields: [] },
  { route: 'GET /v1/tunnel', encoding: 'query', who: 'alice', fields: ['host', 'port'] },
  { route: 'GET /requests', encoding: 'query', who: 'browser', fields: [] },
  { route: 'GET /requests/:id', encoding: 'query', who: 'browser', fields: ['done'] },
  { route: 'POST /requests/:id', encoding: 'form', who: 'browser', fields: ['csrf_token', 'form', 'decision', 'reason'] },
  { route: 'POST /v1/requests', encoding: 'json', who: 'alice', fields: ['host', 'duration_seconds', 'reason', 'dry_run'] },
  { route: 'GET /v1/requests', encoding: 'query', who: 'alice', fields: ['scope', 'limit'] },
  { route: 'GET /v1/requests/:id', encoding: 'query', who: 'admin', fields: [] },
  { route: 'POST /v1/requests/:id/review', encoding: 'json', who: 'admin', fields: ['decision', 'reason'] },
  { route: 'POST /v1/requests/:id/cancel', encoding: 'json', who: 'alice', fields: ['reason'] },
  { route: 'POST /v1/requests/:id/revoke', encoding: 'json', who: 'admin', fields: ['reason'] },
]
const ALL_FIELDS = [...new Set(ROUTES.flatMap((route) => route.fields)), 'session_id', 'cursor', 'login', 'break_glass', 'prompt', 'flow']

/** Placeholders that `send` replaces with the target's real values. */
const CSRF = '<csrf>'
const REQUEST_ID = '<request-id>'

/** A valid value for each field: a request starts valid, so each mutation reaches past the checks before it. */
const VALID: Record<string, unknown[]> = {
  public_key: [formatPublicKey(generateKeyPair().publicKey)], hostname: ['vm.example.com', 'vault.internal'], host: ['vm.example.com', 'vault.internal'],
  user: ['carol', 'carol@example.com', 'oidc:https://idp.example#1'], username: ['alice', 'carol'], password: [TEST_PASSWORD], session_id: ['s-0123456789abcdef'],
  login: ['alice', 'deploy'], client_id: [CLIENT_ID], response_type: ['code'], code_challenge_method: ['S256'], code_challenge: ['E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
  redirect_uri: ['http://127.0.0.1:49152/callback'], grant_type: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  code: ['c0ffee'], code_verifier: ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'], refresh_token: ['rt-unknown'], device_code: ['dc-unknown'], token: ['rt-unknown'],
  token_type_hint: ['refresh_token'], scope: ['openid', 'mine', 'review', 'all'], state: ['st4te'], csrf_token: [CSRF], action: ['allow', 'approve', 'deny'],
  type: ['tunnel.open', 'tunnel', 'cert.sign,login'], since: ['2026-11-19T14:00:00Z', '1700000000'], until: ['2036-11-19'], limit: ['1', '50'], order: ['asc', 'desc'],
  all: ['1', '0'], decision: ['approve', 'deny'], form: ['review', 'cancel', 'revoke'], duration_seconds: [600], ttl_seconds: [600], port: ['22', '2222'],
  user_code: ['ABCD-EFGH'], return_to: ['/requests', '/device'], done: ['approve'], reason: ['INC-1 "quoted" ünïcode'], dry_run: [true, false],
}
const ANY_VALID = [...new Set(Object.values(VALID).flat().filter((value): value is string => typeof value === 'string'))]

/** Strings a careless route passes on to the store, the log or a page. */
const weird = fc.constantFrom(
  '', ' ', '\u0000', '\ud800', 'x\udfff', '\u202egnp.exe', '\x1b[2J', '\r\n', '%00', '%', '../../etc/passwd', "' OR 1=1 --", '__proto__', 'constructor',
  '1e999', '-1', '0', '9007199254740993', 'NaN', 'null', '{"a":1}', 'ssh-ed25519 AAAA', '2026-13-45T99:99:99Z', '\u{1f600}',
)
/** For field `name`: a valid value with one bad character inside (past shape checks that look at the rest), odd strings, huge ones, any JSON. */
function hostileFor(name: string): fc.Arbitrary<unknown> {
  const valid = fc.constantFrom(...(VALID[name] ?? ANY_VALID).map(String))
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(valid, fc.constantFrom('\u0000', '\ud800', '\u202e', '\x1b', '\r\n', '%00', '\x7f', '\u0085', ' '), fc.nat()).map(([value, bad, at]) => value.slice(0, at % (value.length + 1)) + bad + value.slice(at % (value.length + 1))) },
    { weight: 2, arbitrary: weird },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 20_000 }).map((n) => 'x'.repeat(n)) },
    { weight: 2, arbitrary: fc.oneof(fc.constantFrom(null, 0, -1, 1.5, 1e21, 2 ** 63, true, false, [], {}, [null], { a: { b: [] } }), fc.jsonValue({ maxDepth: 2 })) },
  )
}

const asText = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''))

type Mutation = { op: 'set'; field: string; value: unknown } | { op: 'drop'; field: string } | { op: 'repeat'; field: string; value: unknown }
interface Fuzzed {
  route: (typeof ROUTES)[number]
  valid: Array<[string, unknown]>
  mutations: Mutation[]
  id: unknown
  method: string | undefined
  who: Who
  garbage: string
  encoding: Encoding | 'raw' | 'none'
  /** Query values go into the URL unencoded where a URL can carry them (broken escapes, `%00`, `+`). */
  rawQuery: boolean
  raw: { contentType: string; text: string }
  forwardedFor: string | undefined
}

function fieldName(route: (typeof ROUTES)[number]): fc.Arbitrary<string> {
  return route.fields.length === 0 ? fc.constantFrom(...ALL_FIELDS) : fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...route.fields) }, { weight: 1, arbitrary: fc.constantFrom(...ALL_FIELDS, 'user[]', 'a[b]', '') })
}

const fuzzed: fc.Arbitrary<Fuzzed> = fc.constantFrom(...ROUTES).chain((route) => {
  const mutation: fc.Arbitrary<Mutation> = fieldName(route).chain((field) =>
    fc.oneof(
      { weight: 6, arbitrary: hostileFor(field).map((value): Mutation => ({ op: 'set', field, value })) },
      { weight: 1, arbitrary: fc.constant<Mutation>({ op: 'drop', field }) },
      { weight: 1, arbitrary: hostileFor(field).map((value): Mutation => ({ op: 'repeat', field, value })) },
    ))
  return fc.record({
    route: fc.constant(route),
    valid: fc.tuple(...route.fields.map((field) => fc.tuple(fc.constant(field), fc.constantFrom(...(VALID[field] ?? ['x']))))),
    mutations: fc.array(mutation, { minLength: 0, maxLength: 3 }),
    id: fc.oneof({ weight: 2, arbitrary: fc.constant(REQUEST_ID) }, { weight: 1, arbitrary: hostileFor('session_id') }),
    method: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'GET', 'POST') }),
    who: fc.oneof({ weight: 5, arbitrary: fc.constant(route.who) }, { weight: 1, arbitrary: fc.constantFrom<Who>('nobody', 'alice', 'admin', 'garbage', 'browser') }),
    garbage: hostileFor('token').map(asText),
    encoding: fc.oneof({ weight: 10, arbitrary: fc.constant(route.encoding) }, { weight: 1, arbitrary: fc.constantFrom<Fuzzed['encoding']>('json', 'form', 'query', 'raw', 'none') }),
    rawQuery: fc.boolean(),
    raw: fc.record({
      contentType: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/octet-stream'),
      text: hostileFor('').map(asText),
    }),
    forwardedFor: fc.option(fc.constantFrom('10.0.0.1', '::1', 'garbage', '1.2.3.4, 5.6.7.8', '999.1.1.1'), { nil: undefined, freq: 8 }),
  })
})

interface Target {
  srv: TestServer
  logs: () => string[]
  alice: string
  admin: string
  browser: { cookie: string; csrf: string }
  requestId: string
}

/** The sign-in form, posted as a browser would (CSRF cookie and field). */
async function postLogin(url: string, username: string, password: string): Promise<{ response: Response; csrfCookie: string; csrf: string }> {
  const page = await fetch(`${url}/login`)
  const csrf = csrfTokenOf(await page.text())
  const csrfCookie = page.headers.getSetCookie().map((line) => line.split(';')[0]!).join('; ')
  const response = await fetch(`${url}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    body: new URLSearchParams({ username, password, csrf_token: csrf, return_to: '/requests' }),
  })
  return { response, csrfCookie, csrf }
}

async function signInBrowser(url: string): Promise<{ cookie: string; csrf: string }> {
  const { response, csrfCookie, csrf } = await postLogin(url, 'alice', TEST_PASSWORD)
  expect(response.status).toBe(303)
  return { cookie: [csrfCookie, ...response.headers.getSetCookie().map((line) => line.split(';')[0]!)].join('; '), csrf }
}

/** The issue's cases, named: what PostgreSQL answered 500 to, unaudited and uncounted. */
async function checkNamesAtTheEdge(target: Target): Promise<void> {
  const { srv } = target
  const { response } = await postLogin(srv.url, 'ali\u0000ce', 'wrong')
  expect(response.status).toBe(401)
  expect(await response.text()).toContain('Wrong username or password.')
  const events = await srv.server.store.audit.read(0, 100_000)
  expect(events.filter((event) => event.type === 'login').at(-1)).toMatchObject({ outcome: 'denied', user: 'ali\ufffdce', detail: { reason: 'bad_credentials' } })
  expect(await srv.server.store.throttles.countFailures('user:ali\ufffdce', 0)).toBe(1)

  for (const query of ['sessions?user=a%00b%40example.com', 'audit?user=a%00%40example.com', 'audit?user=oidc%3A%00', 'sessions?user=carol%E2%80%AE']) {
    const answer = await fetch(`${srv.url}/v1/admin/${query}`, { headers: { authorization: `Bearer ${target.admin}` } })
    expect({ query, status: answer.status, body: await answer.json() }).toMatchObject({ status: 400, body: { error: 'ERR_BAD_REQUEST', message: expect.stringMatching(/^user must be an email address or a username/) } })
  }
  const disable = await fetch(`${srv.url}/v1/admin/users/disable`, {
    method: 'POST', headers: { authorization: `Bearer ${target.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ user: 'carol\u0000' }),
  })
  expect(disable.status).toBe(400)
}

async function startTarget(storage: Record<string, unknown>): Promise<Target> {
  const lines: string[] = []
  const srv = await startTestServer({
    users: [...DEFAULT_USERS, { username: 'carol', email: 'carol@example.com', groups: ['dev'] }],
    targets: { 'vm.example.com': '127.0.0.1:9', 'vault.internal': '127.0.0.1:9' },
    policy: [
      { name: 'dev', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'], max_ttl: '1h' },
      { name: 'vault', groups: ['dev'], hosts: ['vault.internal'], principals: ['{email_local}'], request: { approvers: { groups: ['ops'] }, reason: 'optional' } },
    ],
    config: {
      storage, admins: { users: ['bob'] }, metrics: { enabled: true },
      // The property is about answers, not rate limits: let every generated request reach its route.
      rate_limits: {
        sign_per_minute: 1_000_000, tunnel_per_minute: 1_000_000, token_per_minute: 100_000, device_authorization_per_minute: 100_000, login_posts_per_minute: 100_000,
        login_failures_per_user: 10_000, login_failures_per_ip: 100_000, user_code_failures_per_ip: 10_000,
      },
    },
    logStream: new Writable({ write: (chunk, _encoding, done) => done(void lines.push(...String(chunk).split('\n').filter(Boolean))) }),
  })
  const [alice, admin] = await Promise.all([loginWithPassword(srv.url, 'alice'), loginWithPassword(srv.url, 'bob')])
  const created = await fetch(`${srv.url}/v1/requests`, {
    method: 'POST', headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ host: 'vault.internal', duration_seconds: 600 }),
  })
  expect(created.status).toBe(200)
  const requestId = ((await created.json()) as { request: { id: string } }).request.id
  return { srv, logs: () => lines, alice: alice.access_token, admin: admin.access_token, browser: await signInBrowser(srv.url), requestId }
}

/** Percent-encodes the UTF-8 of `text` (a lone surrogate goes as U+FFFD): all but unreserved characters, or, `raw`, only what a URL cannot carry. */
function percentEncode(text: string, raw = false): string {
  const keep = raw ? /[\x21-\x7e]/ : /[A-Za-z0-9\-._~]/
  let out = ''
  for (const character of text) {
    if (keep.test(character) && character !== '#' && !(raw && character === '&')) out += character
    else for (const byte of Buffer.from(character, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** A header value undici will send (visible Latin-1 and spaces). */
const headerSafe = (text: string): string => text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?').slice(0, 8000)

/** The route's valid fields with the mutations applied, placeholders replaced. */
function fieldsOf(input: Fuzzed, target: Target): Array<[string, unknown]> {
  let fields: Array<[string, unknown]> = [...input.valid]
  for (const mutation of input.mutations) {
    if (mutation.op === 'drop') fields = fields.filter(([name]) => name !== mutation.field)
    else if (mutation.op === 'repeat') fields.push([mutation.field, mutation.value])
    else fields = [...fields.filter(([name]) => name !== mutation.field), [mutation.field, mutation.value]]
  }
  return fields.map(([name, value]) => [name, value === CSRF ? target.browser.csrf : value])
}

/** Sends one fuzzed request; its status, or undefined when undici refused to send it as generated. */
async function send(target: Target, input: Fuzzed): Promise<{ status: number; text: string } | undefined> {
  const [routeMethod, routePath] = input.route.route.split(' ') as [string, string]
  const method = input.method ?? routeMethod
  const id = input.id === REQUEST_ID ? target.requestId : asText(input.id).slice(0, 2000)
  const path = routePath.replace(':id', percentEncode(id))
  const headers: Record<string, string> = {}
  if (input.who === 'alice') headers.authorization = `Bearer ${target.alice}`
  if (input.who === 'admin') headers.authorization = `Bearer ${target.admin}`
  if (input.who === 'garbage') headers.authorization = headerSafe(`Bearer ${input.garbage}`)
  if (input.who === 'browser') headers.cookie = target.browser.cookie
  if (input.forwardedFor) headers['x-forwarded-for'] = input.forwardedFor
  const fields = fieldsOf(input, target)
  let body: string | undefined
  let query = ''
  const withBody = method !== 'GET' && method !== 'HEAD'
  if (input.encoding === 'query' || !withBody) {
    query = fields.length === 0 ? '' : `?${fields.map(([name, value]) => `${percentEncode(name)}=${percentEncode(asText(value), input.rawQuery)}`).join('&')}`
  } else if (input.encoding === 'json') {
    const repeated = new Set(fields.map(([name]) => name)).size < fields.length
    // JSON has no repeated keys: a repeated field becomes the whole body (an array of the values).
    body = repeated ? JSON.stringify(fields.map(([, value]) => value)) : JSON.stringify(Object.fromEntries(fields))
    headers['content-type'] = 'application/json'
  } else if (input.encoding === 'form') {
    body = new URLSearchParams(fields.map(([name, value]): [string, string] => [name, asText(value)])).toString()
    headers['content-type'] = 'application/x-www-form-urlencoded'
  } else if (input.encoding === 'raw') {
    body = input.raw.text
    headers['content-type'] = input.raw.contentType
  }
  try {
    const response = await request(`${target.srv.url}${path}${query}`, { method: method as 'GET', headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 })
    return { status: response.statusCode, text: await response.body.text() }
  } catch (error) {
    if (error instanceof Error && /invalid|header/i.test(error.message) && !/timeout/i.test(error.message)) return undefined
    throw error
  }
}

async function checkProperty(target: () => Target, seed: number): Promise<void> {
  let sent = 0
  const statuses = new Map<string, number>()
  await fc.assert(
    fc.asyncProperty(fuzzed, async (input) => {
      const before = target().logs().length
      const answer = await send(target(), input)
      if (answer === undefined) return
      sent++
      const key = `${input.route.route} ${answer.status}`
      statuses.set(key, (statuses.get(key) ?? 0) + 1)
      const context = `${JSON.stringify({ ...input, route: input.route.route }).slice(0, 800)}\n→ ${answer.status} ${answer.text.slice(0, 300)}`
      expect(answer.status, context).toBeLessThan(500)
      const errors = target().logs().slice(before).filter((line) => (JSON.parse(line) as { level: number }).level >= 50)
      expect(errors, context).toEqual([])
    }),
    { seed: SEED ?? seed, numRuns: process.env.FUZZ_MS ? 1e7 : 100_000, interruptAfterTimeLimit: TIME_LIMIT_MS },
  )
  if (process.env.FUZZ_STATS) console.log([...statuses].sort().map(([key, count]) => `${key}: ${count}`).join('\n'))
  expect(sent).toBeGreaterThan(50)
}

describe('fuzzed HTTP requests never give a 5xx', () => {
  describe('on SQLite', () => {
    let target: Target
    beforeAll(async () => {
      target = await startTarget({ sqlite: 'jitssh.db' })
    })
    afterAll(async () => target?.srv.stop())
    it('refuses names with NUL or controls at the edge: a sign-in as a wrong password (401, audited, counted), an admin filter as 400', () => checkNamesAtTheEdge(target))
    it('for any route, method, query, body and credentials', () => checkProperty(() => target, 1801), TIME_LIMIT_MS + 30_000)
  })

  describe('on PostgreSQL', () => {
    let postgres: TestPostgres
    let target: Target
    beforeAll(async () => {
      postgres = await startPostgres()
      target = await startTarget({ postgres: postgres.url })
    })
    afterAll(async () => {
      await target?.srv.stop()
      await postgres?.stop()
    })
    it('refuses names with NUL or controls at the edge: a sign-in as a wrong password (401, audited, counted), an admin filter as 400', () => checkNamesAtTheEdge(target))
    it('for any route, method, query, body and credentials', () => checkProperty(() => target, 1802), TIME_LIMIT_MS + 30_000)
  })
})
