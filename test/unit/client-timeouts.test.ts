// Issue 18: the CLI never hangs on a server that stops answering. Every wait on the network (an HTTP
// request and its body, discovery, the tunnel's WebSocket handshake, the CONNECT proxy) ends after
// JITSSH_HTTP_TIMEOUT_MS with one line, even when garbage collection runs while it waits: on Node 20 an
// AbortSignal.timeout() combined with AbortSignal.any() is held weakly and lost in a collection
// (nodejs/node#57736), and then nothing ever fires. This file runs with --expose-gc (the unit-gc project in
// vitest.config.ts) and collects every few milliseconds while a command waits.
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeTempHome, removeTempHome, runCli, seedSession, type CliResult } from '../helpers/cli.js'

const TIMEOUT_MS = 400
/** Past the timeout: time for the error to be reported on a loaded two-core machine. */
const SLACK_MS = 2_500
/** How long the test waits for a command that hangs before it gives up on it (and fails). */
const HANG_MS = TIMEOUT_MS + SLACK_MS + 2_000

type Stall = 'no answer' | 'headers, then the body stalls' | 'a byte every 50 ms'
const STALLS: Stall[] = ['no answer', 'headers, then the body stalls', 'a byte every 50 ms']

interface StalledServer {
  url: string
  /** Requests seen, as `METHOD path`. */
  requests: string[]
  close(): Promise<void>
}

/** A server on loopback that accepts every connection and then stalls as `how` says, forever. */
async function startStalledServer(how: Stall, status = 200): Promise<StalledServer> {
  const requests: string[] = []
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  const head = `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"`
  /** Writes `text`, or for the trickle one byte of it (then spaces) every 50 ms, and never ends. */
  const answer = (socket: Socket, text: string) => {
    if (how === 'headers, then the body stalls') socket.write(text)
    if (how !== 'a byte every 50 ms') return
    let sent = 0
    const timer = setInterval(() => socket.write(text[sent++] ?? ' '), 50)
    timers.add(timer)
    socket.once('close', () => clearInterval(timer))
  }
  const server: Server = createServer((req) => {
    requests.push(`${req.method} ${req.url}`)
    answer(req.socket, head)
  })
  server.on('upgrade', (_req, socket: Socket) => {
    requests.push('UPGRADE')
    answer(socket, head)
  })
  server.on('connect', (req) => {
    requests.push(`CONNECT ${req.url}`)
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined) // the client resets connections it gives up on
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      for (const timer of timers) clearInterval(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** Runs the command while collecting garbage every few ms; 'hung' when it is still running after HANG_MS. */
async function runCollecting(argv: string[], env: Record<string, string>): Promise<{ result: CliResult | 'hung'; ms: number }> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('this file must run with node --expose-gc (vitest project unit-gc)')
  const collector = setInterval(gc, 5)
  const stop = new AbortController()
  const started = Date.now()
  let guard: NodeJS.Timeout | undefined
  try {
    const run = runCli(argv, { home, env: { JITSSH_HTTP_TIMEOUT_MS: String(TIMEOUT_MS), ...env }, signal: stop.signal })
    const hung = new Promise<'hung'>((resolve) => (guard = setTimeout(() => resolve('hung'), HANG_MS)))
    const result = await Promise.race([run, hung])
    const ms = Date.now() - started
    if (result === 'hung') {
      stop.abort() // let the command end, so the test can clean up
      await run.catch(() => undefined)
    }
    return { result, ms }
  } finally {
    clearTimeout(guard)
    clearInterval(collector)
  }
}

function expectTimedOut(outcome: { result: CliResult | 'hung'; ms: number }, output: 'stderr' | 'stdout' = 'stderr'): CliResult {
  expect(outcome.result, `still running after ${HANG_MS} ms`).not.toBe('hung')
  const result = outcome.result as CliResult
  expect(outcome.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
  expect(outcome.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS)
  const text = result[output]
  expect(text).toMatch(/timed out/)
  if (output === 'stderr') {
    expect(result.code).toBe(1)
    expect(text.trimEnd().split('\n')).toHaveLength(1)
    expect(text).toMatch(/^jitssh: cannot reach http:\/\/127\.0\.0\.1:\d+: timed out/)
  }
  return result
}

let home: string
let server: StalledServer | undefined
beforeEach(async () => {
  home = await makeTempHome()
})
afterEach(async () => {
  await server?.close()
  server = undefined
  await removeTempHome(home)
})

describe.each(STALLS)('a server that gives %s', (how) => {
  it('login: the discovery request times out', async () => {
    server = await startStalledServer(how)
    expectTimedOut(await runCollecting(['login', '--server', server.url, '--device'], {}))
    expect(server.requests).toEqual(['GET /.well-known/jitssh'])
  })

  it('status: the identity request times out, and status says so', async () => {
    server = await startStalledServer(how)
    await seedSession(home, server.url, { accessToken: 'at', refreshToken: 'rt' })
    const result = expectTimedOut(await runCollecting(['status'], {}), 'stdout')
    expect(result.stdout).toMatch(/^Logged in as: unknown \(cannot reach http:\/\/127\.0\.0\.1:\d+: timed out.*\)$/m)
    expect(server.requests).toEqual(['GET /v1/me'])
  })

  it('ssh-gen: the signing request times out', async () => {
    server = await startStalledServer(how)
    await seedSession(home, server.url, { accessToken: 'at', refreshToken: 'rt' })
    expectTimedOut(await runCollecting(['ssh-gen', '--hostname', 'vm.example.com'], {}))
    expect(server.requests).toEqual(['POST /v1/ssh/sign'])
  })
})

describe('the tunnel (jitssh ssh)', () => {
  it('a CONNECT proxy that never answers times out', async () => {
    const bastion = await startStalledServer('no answer')
    server = await startStalledServer('no answer')
    try {
      await seedSession(home, bastion.url, { accessToken: 'at' })
      const outcome = await runCollecting(['ssh', '--hostname', 'vm.example.com'], { HTTP_PROXY: server.url, NO_PROXY: '' })
      expect(outcome.result).not.toBe('hung')
      expect((outcome.result as CliResult).stderr).toMatch(/^jitssh: cannot reach the proxy 127\.0\.0\.1:\d+: timed out/)
      expect(outcome.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS)
      expect(server.requests).toEqual([expect.stringMatching(/^CONNECT 127\.0\.0\.1:\d+$/)])
    } finally {
      await bastion.close()
    }
  })

  it.each(STALLS)('a bastion that gives %s to the upgrade times out', async (how) => {
    server = await startStalledServer(how, 403)
    await seedSession(home, server.url, { accessToken: 'at' })
    expectTimedOut(await runCollecting(['ssh', '--hostname', 'vm.example.com'], {}))
    expect(server.requests).toEqual(['UPGRADE'])
  })
})
