/**
 * A scripted stand-in for the jitssh server's HTTP API on 127.0.0.1, for client tests that need answers the
 * real server never gives (issue 18: a server that stalls, floods or lies). By default every endpoint the CLI
 * calls answers as the real server does, signing certificates with a user CA of its own; a test replaces the
 * answer of any path through `routes`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, beforeEach } from 'vitest'
import { discoveryDocument, type DiscoveryDeps } from '../../src/server/http/discovery-routes.js'
import { parsePublicKey, formatPublicKey, generateKeyPair, type SshKeyPair } from '../../src/ssh/keys.js'
import { signCertificate } from '../../src/ssh/certificate.js'
import { keyPairSigner } from '../../src/ssh/signer.js'
import { makeTempHome, removeTempHome, seedSession } from './cli.js'

export type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>
/** The valid answer (its JSON value; undefined for an empty body) to a request with this body. */
export type Answerer = (body: string) => unknown

export interface FakeJitssh {
  url: string
  userCa: SshKeyPair
  /** `METHOD path` of every request, in order. */
  requests: string[]
  /** The answer for each path (without the query); replace or add entries freely. */
  routes: Map<string, Route>
  /** What the real server would answer on each path of the API the CLI uses (the default routes send it). */
  answers: Map<string, Answerer>
  close(): Promise<void>
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(value === undefined ? '' : JSON.stringify(value))
}

const SESSION_END = '2099-01-01T00:00:00.000Z'

export const TOKENS = { access_token: 'fake-access-token', token_type: 'Bearer', expires_in: 600, refresh_token: 'fake-refresh-token', session_expires_at: SESSION_END }

export const WHO_AM_I = {
  sub: 'alice', email: 'alice@example.com', groups: ['dev'], session_id: 's-1', session_expires_at: SESSION_END, admin: true,
}

export async function startFakeJitssh(): Promise<FakeJitssh> {
  const userCa = generateKeyPair('ssh-ed25519', 'fake-user-ca')
  const hostCa = generateKeyPair('ssh-ed25519', 'fake-host-ca')
  const requests: string[] = []
  const sockets = new Set<Socket>()
  const routes = new Map<string, Route>()
  const answers = new Map<string, Answerer>()
  const fake: FakeJitssh = { url: '', userCa, requests, routes, answers, close: async () => undefined }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    requests.push(`${req.method} ${path}`)
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString('utf8')))
    req.on('end', () => {
      const route = routes.get(path)
      if (route === undefined) return sendJson(res, 404, { error: 'ERR_NOT_FOUND', message: `no route ${path}` })
      Promise.resolve(route(req, res, body)).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: 'ERR_INTERNAL', message: String(error) })
        else res.destroy()
      })
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  fake.url = base
  // The real server's own document, for this base URL and these CA keys.
  const keys = { userCaLine: formatPublicKey(userCa.publicKey, 'fake-user-ca'), hostCaLine: formatPublicKey(hostCa.publicKey, 'fake-host-ca') }
  const discovery = discoveryDocument({ publicUrl: () => base, keys } as unknown as DiscoveryDeps)
  answers.set('/.well-known/jitssh', () => discovery)
  answers.set('/token', () => TOKENS)
  answers.set('/device_authorization', () => ({
    device_code: 'fake-device-code', user_code: 'BCDF-GHJK', verification_uri: `${base}/device`,
    verification_uri_complete: `${base}/device?user_code=BCDF-GHJK`, expires_in: 600, interval: 5,
  }))
  answers.set('/revoke', () => undefined)
  answers.set('/v1/me', () => WHO_AM_I)
  answers.set('/v1/ssh/sign', async (body) => {
    const request = JSON.parse(body) as { public_key: string; hostname: string }
    // Valid for two hours, so that a client whose clock a test moves on an hour still takes it.
    const now = BigInt(Math.floor(Date.now() / 1000))
    const certificate = await signCertificate({
      type: 'user', publicKey: parsePublicKey(request.public_key), serial: 1n, keyId: `alice@${request.hostname}`, principals: ['alice'],
      validAfter: now - 60n, validBefore: now + 7200n, criticalOptions: {}, extensions: ['permit-pty'],
    }, keyPairSigner(userCa), 'jitssh')
    return {
      certificate: certificate.line, serial: '1', key_id: certificate.keyId, principals: certificate.principals,
      valid_after: new Date(Number(now - 60n) * 1000).toISOString(), valid_before: new Date(Number(now + 7200n) * 1000).toISOString(),
    }
  })
  answers.set('/v1/admin/sessions', () => ({ sessions: [] }))
  answers.set('/v1/admin/tunnels', () => ({ tunnels: [] }))
  answers.set('/v1/admin/audit', () => ({ events: [], next_cursor: null }))
  answers.set('/v1/admin/users/disabled', () => ({ users: [] }))
  answers.set('/v1/admin/revoke', () => ({ user: 'bob@example.com', revoked_sessions: [], tunnels_closed: 0 }))
  for (const [path, answer] of answers) routes.set(path, async (_req, res, body) => sendJson(res, 200, await answer(body)))
  fake.close = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  return fake
}

export interface FakeJitsshTest {
  /** A temp home for this test. */
  readonly home: string
  readonly fake: FakeJitssh
}

/** For each test of the calling file or describe: a temp home and a fresh fake server; `loggedIn`: a session for it (seedSession). */
export function useFakeJitssh(options: { loggedIn?: boolean } = {}): FakeJitsshTest {
  const current = { home: '', fake: undefined as FakeJitssh | undefined }
  beforeEach(async () => {
    current.home = await makeTempHome()
    current.fake = await startFakeJitssh()
    if (options.loggedIn === true) await seedSession(current.home, current.fake.url, { accessToken: 'at', refreshToken: 'rt' })
  })
  afterEach(async () => {
    await current.fake?.close()
    await removeTempHome(current.home)
  })
  return {
    get home() {
      return current.home
    },
    get fake() {
      if (current.fake === undefined) throw new Error('useFakeJitssh: no test is running')
      return current.fake
    },
  }
}
