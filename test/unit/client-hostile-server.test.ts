// Issue 18, as a property: whatever a server answers on discovery, token, device authorization, sign and
// /v1/me (wrong types, huge or hostile strings, missing fields, any status, bodies cut short, slow, stalled,
// endless or not JSON), the real commands (login, status, ssh-gen, in-process through runCli) end within their
// timeouts with exit 0, or non-zero and exactly one `jitssh:` line (never an internal error or a stack trace),
// write no large file under JITSSH_HOME, and print nothing a terminal would act on. Seeded; each property
// stops after a few seconds. To search longer: HOSTILE_MS=60000 HOSTILE_SEED=7 npx vitest run <this file>.
import type { ServerResponse } from 'node:http'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { runCli, seedSession, type CliOptions } from '../helpers/cli.js'
import { startFakeJitssh, type FakeJitssh } from '../helpers/fake-jitssh.js'

const TIMEOUT_MS = 300
/** No file under JITSSH_HOME may grow past this (a 16 KiB access token and a certificate fit well within). */
const MAX_FILE_BYTES = 64 * 1024
/** Each property runs for about this long at most. */
const TIME_LIMIT_MS = Number(process.env.HOSTILE_MS ?? 4_000)
const SEED = process.env.HOSTILE_SEED === undefined ? undefined : Number(process.env.HOSTILE_SEED)

/** As in client-terminal-text.test.ts, with the newline allowed (outputs have many lines). */
const FORBIDDEN = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\u{e0000}-\u{e007f}]|\p{Cs}/u
/** What a client that trusted an answer blindly would print. */
const BLIND = /internal error|\n\s+at |undefined|\[object Object\]|NaN|Invalid Date/

const DROP = Symbol('drop')
type Delivery = 'whole' | 'slow' | 'truncated' | 'stall' | 'endless' | 'not json'

interface Plan {
  status: number
  /** Field paths (`jitssh.sign_endpoint`) set to a value or dropped; '' replaces the whole answer. */
  edits: Array<[string, unknown]>
  delivery: Delivery
}

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', ' ', '\x1b]0;owned\x07', '\x9b2J', 'alice\u202egnp.exe', 'a\r\nb', 'http://evil.example.com/x', 'ssh-ed25519 AAAA', '2026-13-45T99:99:99Z'),
  fc.integer({ min: 1_000, max: 90_000 }).map((n) => 'x'.repeat(n)),
)
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constantFrom(null, 0, -1, 1.5, 1e9, 1e21, true, false, [], {}, [1, 'a'], { a: { b: [] } }),
  fc.jsonValue({ maxDepth: 2 }),
)

function planFor(fields: string[]): fc.Arbitrary<Plan> {
  const edit = fc.tuple(fc.constantFrom('', ...fields, 'unexpected'), fc.oneof({ weight: 1, arbitrary: fc.constant<unknown>(DROP) }, { weight: 3, arbitrary: anyValue }))
  return fc.record({
    status: fc.oneof({ weight: 6, arbitrary: fc.constant(200) }, { weight: 2, arbitrary: fc.constantFrom(201, 204, 302, 400, 401, 403, 404, 429, 500, 503) }),
    edits: fc.oneof({ weight: 1, arbitrary: fc.constant<Array<[string, unknown]>>([]) }, { weight: 2, arbitrary: fc.array(edit, { maxLength: 3 }) }),
    delivery: fc.oneof(
      { weight: 12, arbitrary: fc.constant<Delivery>('whole') },
      { weight: 4, arbitrary: fc.constantFrom<Delivery>('slow', 'truncated', 'not json') },
      { weight: 1, arbitrary: fc.constantFrom<Delivery>('stall', 'endless') },
    ),
  })
}

/** An OAuth error a token endpoint may send instead (device polling, refresh). */
const oauthError = fc.record({
  status: fc.constantFrom(400, 401),
  edits: fc.constantFrom('authorization_pending', 'slow_down', 'access_denied', 'expired_token', 'invalid_grant').map((error): Array<[string, unknown]> => [['', { error }]]),
  delivery: fc.constant<Delivery>('whole'),
})

const PLANS = fc.record({
  discovery: planFor(['issuer', 'token_endpoint', 'device_authorization_endpoint', 'userinfo_endpoint', 'jitssh', 'jitssh.sign_endpoint', 'jitssh.client_id', 'jitssh.user_ca_public_key', 'jitssh.host_ca_public_key', 'jitssh.admin_endpoint']),
  token: fc.oneof(planFor(['access_token', 'refresh_token', 'expires_in', 'session_expires_at', 'token_type']), oauthError),
  device: planFor(['device_code', 'user_code', 'verification_uri', 'verification_uri_complete', 'expires_in', 'interval']),
  sign: planFor(['certificate', 'serial', 'principals']),
  me: planFor(['sub', 'email', 'name', 'groups', 'session_expires_at', 'admin']),
})
type Plans = typeof PLANS extends fc.Arbitrary<infer P> ? P : never

const PATHS: Record<keyof Plans, string> = { discovery: '/.well-known/jitssh', token: '/token', device: '/device_authorization', sign: '/v1/ssh/sign', me: '/v1/me' }

function applyEdits(valid: unknown, edits: Array<[string, unknown]>): unknown {
  let answer: unknown = structuredClone(valid)
  for (const [path, value] of edits) {
    if (path === '') {
      answer = value === DROP ? undefined : value
      continue
    }
    const keys = path.split('.')
    let node = answer
    for (const key of keys.slice(0, -1)) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined
    if (typeof node !== 'object' || node === null) continue
    if (value === DROP) delete (node as Record<string, unknown>)[keys.at(-1)!]
    else (node as Record<string, unknown>)[keys.at(-1)!] = value
  }
  return answer
}

function deliver(res: ServerResponse, plan: Plan, answer: unknown): void {
  const text = plan.delivery === 'not json' ? '<html>\x1b[2J\u202e not json' : answer === undefined ? '' : JSON.stringify(answer)
  const headers = { 'content-type': 'application/json' }
  switch (plan.delivery) {
    case 'stall':
      return
    case 'truncated':
      res.writeHead(plan.status, { ...headers, 'content-length': String(Buffer.byteLength(text) + 10) })
      res.write(text.slice(0, text.length >> 1))
      setTimeout(() => res.destroy(), 5)
      return
    case 'slow': {
      res.writeHead(plan.status, headers)
      const third = Math.ceil(text.length / 3)
      res.write(text.slice(0, third))
      setTimeout(() => res.write(text.slice(third, 2 * third)), 20)
      setTimeout(() => res.end(text.slice(2 * third)), 40)
      return
    }
    case 'endless': {
      res.writeHead(plan.status, headers)
      const chunk = Buffer.alloc(16 * 1024, 'x')
      let sent = 0
      const pump = () => {
        while (sent < 2 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end()
      }
      res.write('{"x":"')
      return pump()
    }
    default:
      res.writeHead(plan.status, headers).end(text)
  }
}

let fake: FakeJitssh
beforeAll(async () => {
  fake = await startFakeJitssh()
})
afterAll(async () => {
  await fake.close()
})

function serve(plans: Plans): void {
  for (const [name, path] of Object.entries(PATHS) as Array<[keyof Plans, string]>) {
    const plan = plans[name]
    fake.routes.set(path, async (_req, res, body) => deliver(res, plan, applyEdits(await fake.answers.get(path)!(body), plan.edits)))
  }
}

async function filesUnder(dir: string): Promise<Array<{ path: string; size: number }>> {
  const out: Array<{ path: string; size: number }> = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name)
      out.push({ path, size: (await stat(path)).size })
    }
  }
  return out
}

type Home = 'fresh' | 'logged in' | 'token expired' | 'no discovery'

/** A home as login leaves it (see seedSession), aged or thinned as `state` says. */
async function prepareHome(home: string, state: Home): Promise<Pick<CliOptions, 'now'>> {
  if (state === 'fresh') return {}
  await seedSession(home, fake.url, { accessToken: 'at', refreshToken: 'rt' })
  if (state === 'no discovery') {
    const config = jitsshPaths({}, home).config
    const parsed = JSON.parse(await readFile(config, 'utf8')) as { servers: Record<string, { discovery?: unknown }> }
    delete parsed.servers[fake.url]!.discovery
    await writeFile(config, JSON.stringify(parsed))
  }
  return state === 'token expired' ? { now: () => Date.now() + 3_600_000 } : {}
}

/** Runs one command against `plans`; checks every promise of the property and returns nothing. */
async function runAgainst(argv: string[], state: Home, plans: Plans): Promise<void> {
  serve(plans)
  const home = await mkdtemp(join(tmpdir(), 'jitssh-hostile-'))
  try {
    const clock = await prepareHome(home, state)
    const before = fake.requests.length
    let fakeTime = 0
    const started = Date.now()
    const r = await runCli(argv, {
      home,
      env: { JITSSH_HTTP_TIMEOUT_MS: String(TIMEOUT_MS), JITSSH_LOGIN_TIMEOUT_MS: '20000' },
      // The device flow's polls wait on a fake clock.
      now: () => (clock.now?.() ?? Date.now()) + fakeTime,
      sleep: async (ms) => void (fakeTime += ms),
    })
    const requests = fake.requests.length - before
    const elapsed = Date.now() - started
    const context = `${argv.join(' ')} [${state}] exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
    // Each request may take the whole timeout; past that only a loaded machine's slowness.
    expect(elapsed, context).toBeLessThan(requests * TIMEOUT_MS + 4_000)
    const errorLines = r.stderr.split('\n').filter((line) => line.startsWith('jitssh:'))
    if (r.code === 0 || (argv[0] === 'status' && r.code === 4 && /^Logged in: {4}no/m.test(r.stdout))) {
      expect(errorLines, context).toEqual([])
    } else {
      expect(errorLines, context).toHaveLength(1)
      expect(r.stderr.trimEnd().split('\n').at(-1), context).toBe(errorLines[0])
    }
    expect(`${r.stdout}${r.stderr}`, context).not.toMatch(BLIND)
    expect(`${r.stdout}${r.stderr}`, context).not.toMatch(FORBIDDEN)
    for (const file of await filesUnder(home)) expect(file.size, `${context}\n${file.path}`).toBeLessThanOrEqual(MAX_FILE_BYTES)
  } finally {
    await rm(home, { recursive: true, force: true })
  }
}

const settings = (seed: number): fc.Parameters<unknown> => ({ seed: SEED ?? seed, numRuns: process.env.HOSTILE_MS ? 1e6 : 200, interruptAfterTimeLimit: TIME_LIMIT_MS })

describe('a hostile server (property)', () => {
  it('jitssh login --device', async () => {
    await fc.assert(fc.asyncProperty(PLANS, (plans) => runAgainst(['login', '--server', fake.url, '--device'], 'fresh', plans)), settings(1801))
  }, TIME_LIMIT_MS + 20_000)

  it('jitssh status', async () => {
    const state = fc.constantFrom<Home>('logged in', 'token expired', 'no discovery')
    await fc.assert(fc.asyncProperty(PLANS, state, (plans, home) => runAgainst(['status'], home, plans)), settings(1802))
  }, TIME_LIMIT_MS + 20_000)

  it('jitssh ssh-gen', async () => {
    const state = fc.constantFrom<Home>('logged in', 'token expired', 'no discovery')
    await fc.assert(fc.asyncProperty(PLANS, state, (plans, home) => runAgainst(['ssh-gen', '--hostname', 'vm.example.com'], home, plans)), settings(1803))
  }, TIME_LIMIT_MS + 20_000)
})
