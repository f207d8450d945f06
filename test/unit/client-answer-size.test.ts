// Issue 18: the client reads at most a limit chosen per endpoint of any answer, and stops reading there: an
// endless body once grew the CLI to gigabytes. Each command meets a server that floods one endpoint; the
// test counts the bytes the client actually read (a wrapper around its fetch) and what the server got out.
import type { ServerResponse } from 'node:http'
import { describe, expect, it } from 'vitest'
import type { FetchLike, FetchResponse } from '../../src/client/context.js'
import { runCli, seedSession } from '../helpers/cli.js'
import { useFakeJitssh } from '../helpers/fake-jitssh.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Past the limit, what one read may bring (undici hands the body over in chunks of up to 64 KiB). */
const CHUNK_SLACK = 128 * KiB

interface Flood {
  /** Bytes written before the client went away (or the cap was reached). */
  sent: number
  ended: boolean
}

/** An answer whose body never ends (as far as any limit goes: it stops at `cap`, so a client without limits finishes too). */
function flood(res: ServerResponse, cap: number, stats: Flood, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.write('{"a":"')
  const chunk = Buffer.alloc(64 * KiB, 'x')
  const pump = () => {
    while (stats.sent < cap) {
      stats.sent += chunk.length
      if (!res.write(chunk)) {
        res.once('drain', pump)
        return
      }
    }
    stats.ended = true
    res.end('"}')
  }
  pump()
}

/** Counts the bytes of each path's answers that the client reads. */
function countingFetch(read: Map<string, number>): (fetch: FetchLike) => FetchLike {
  return (fetch) => async (url, init) => {
    const response = await fetch(url, init)
    const path = new URL(url).pathname
    const add = (n: number) => read.set(path, (read.get(path) ?? 0) + n)
    const { body } = response
    const counted = {
      status: response.status,
      ok: response.ok,
      headers: response.headers,
      body: body && {
        getReader: () => {
          const reader = body.getReader()
          return {
            read: async () => {
              const result = await reader.read()
              add(result.value?.byteLength ?? 0)
              return result
            },
            cancel: (reason?: unknown) => reader.cancel(reason),
          }
        },
      },
      // Only for a client that reads whole bodies at once.
      text: async () => {
        const text = await (response as unknown as { text(): Promise<string> }).text()
        add(Buffer.byteLength(text))
        return text
      },
    }
    return counted as unknown as FetchResponse
  }
}

const t = useFakeJitssh()

interface Case {
  command: string[]
  path: string
  what: string
  limit: number
  limitText: string
  /** A logged-in home (with an access token that has expired: the next call refreshes it). */
  session?: 'valid' | 'expired'
  output?: 'stderr' | 'stdout'
}

const CASES: Case[] = [
  { command: ['login', '--device'], path: '/.well-known/jitssh', what: 'discovery document', limit: 64 * KiB, limitText: '64 KiB' },
  { command: ['login', '--device'], path: '/device_authorization', what: 'device authorization', limit: 16 * KiB, limitText: '16 KiB' },
  { command: ['ssh-gen', '--hostname', 'vm.example.com'], path: '/token', what: 'token response', limit: 64 * KiB, limitText: '64 KiB', session: 'expired' },
  { command: ['ssh-gen', '--hostname', 'vm.example.com'], path: '/v1/ssh/sign', what: 'sign response', limit: 64 * KiB, limitText: '64 KiB', session: 'valid' },
  { command: ['status'], path: '/v1/me', what: 'identity (/v1/me)', limit: 64 * KiB, limitText: '64 KiB', session: 'valid', output: 'stdout' },
  { command: ['logout'], path: '/revoke', what: 'revocation answer', limit: 16 * KiB, limitText: '16 KiB', session: 'valid' },
  { command: ['user', 'list-disabled'], path: '/v1/admin/users/disabled', what: 'admin answer', limit: 4 * MiB, limitText: '4 MiB', session: 'valid' },
  { command: ['sessions'], path: '/v1/admin/sessions', what: 'session list', limit: 32 * MiB, limitText: '32 MiB', session: 'valid' },
  { command: ['audit'], path: '/v1/admin/audit', what: 'audit page', limit: 32 * MiB, limitText: '32 MiB', session: 'valid' },
]

describe('an endless answer', () => {
  it.each(CASES)('$command.0 stops reading $path past $limitText', async ({ command, path, what, limit, limitText, session, output = 'stderr' }) => {
    // A cap far past the limit (and past what loopback socket buffers hold) for a client that never stops.
    const cap = limit + 32 * MiB
    const stats: Flood = { sent: 0, ended: false }
    t.fake.routes.set(path, (_req, res) => flood(res, cap, stats))
    if (session !== undefined) await seedSession(t.home, t.fake.url, { accessToken: 'at', refreshToken: 'rt' })
    const argv = session === undefined ? [...command, '--server', t.fake.url] : command
    const read = new Map<string, number>()
    const result = await runCli(argv, {
      home: t.home,
      env: { JITSSH_HTTP_TIMEOUT_MS: '20000' },
      wrapFetch: countingFetch(read),
      ...(session === 'expired' ? { now: () => Date.now() + 3_600_000 } : {}),
    })
    expect(result[output]).toContain(`the server sent an invalid ${what}: more than ${limitText}`)
    if (output === 'stderr') {
      expect(result.code).not.toBe(0)
      expect(result.stderr.trimEnd().split('\n').filter((line) => line.startsWith('jitssh:'))).toHaveLength(1)
    }
    expect(read.get(path)).toBeGreaterThan(limit - CHUNK_SLACK)
    expect(read.get(path)).toBeLessThanOrEqual(limit + CHUNK_SLACK)
    // The client closed the connection: the server could not send all it had.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(stats.ended).toBe(false)
  })

  it('an error status with an endless body is reported by its status', async () => {
    const stats: Flood = { sent: 0, ended: false }
    t.fake.routes.set('/v1/ssh/sign', (_req, res) => flood(res, 40 * MiB, stats, 500))
    await seedSession(t.home, t.fake.url, { accessToken: 'at', refreshToken: 'rt' })
    const result = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home: t.home })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^jitssh: server error from http:\/\/127\.0\.0\.1:\d+ \(HTTP 500\)/)
    expect(stats.ended).toBe(false)
  })

  it('a Content-Length past the limit is refused before the body is read', async () => {
    t.fake.routes.set('/v1/me', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * MiB) })
      res.write('{')
    })
    await seedSession(t.home, t.fake.url, { accessToken: 'at', refreshToken: 'rt' })
    const read = new Map<string, number>()
    const result = await runCli(['status'], { home: t.home, env: { JITSSH_HTTP_TIMEOUT_MS: '3000' }, wrapFetch: countingFetch(read) })
    expect(result.stdout).toContain('the server sent an invalid identity (/v1/me): more than 64 KiB')
    expect(read.get('/v1/me') ?? 0).toBe(0)
  })
})
