// Signed checkpoints of the audit chain's head leave the server: to an HTTP receiver on loopback (POSTed,
// with the configured bearer token), and as JSON lines on standard output; each one verifies with
// keys_dir/audit_checkpoint_key, and `audit verify --checkpoints` accepts what the receiver got. A receiver
// that accepts connections and never answers costs signing requests nothing, and its queue stays bounded.
import { once, EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http'
import { createServer as createTcpServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { readCheckpoint, type Checkpoint } from '../../src/server/audit/checkpoint.js'
import { createServer } from '../../src/server/app.js'
import { loadConfig } from '../../src/server/config/load-config.js'
import { openStore } from '../../src/server/store/open-store.js'
import { signFor } from '../helpers/admin.js'
import { auditKeysOf } from '../helpers/audit.js'
import { parseExposition, seriesValues } from '../helpers/prometheus.js'
import { listenOnLoopback, loginWithPassword, runServerCli, startTestServer, writeTestConfig } from '../helpers/server.js'

const RECEIVER_TOKEN = 'siem-ingest-token-0123456789abcdef'
const cleanups: Array<() => unknown> = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

/** An HTTP receiver on loopback that keeps every POSTed body and says so ('body'). */
async function startReceiver(): Promise<{ url: string; bodies: string[]; authorizations: string[]; events: EventEmitter }> {
  const bodies: string[] = []
  const authorizations: string[] = []
  const events = new EventEmitter()
  const server: HttpServer = createHttpServer((request: IncomingMessage, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString()))
    request.on('end', () => {
      bodies.push(body)
      authorizations.push(request.headers.authorization ?? '')
      response.writeHead(204).end()
      events.emit('body', body)
    })
  })
  const port = await listenOnLoopback(server)
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${port}/ingest`, bodies, authorizations, events }
}

/** Resolves once `received` holds a checkpoint of `seq` (waits on the receiver's events, not on time). */
async function checkpointOf(seq: number, received: { bodies: string[]; events: EventEmitter }): Promise<void> {
  const has = (): boolean => received.bodies.some((body) => (JSON.parse(body) as Checkpoint).seq === seq)
  while (!has()) await once(received.events, 'body')
}

describe('audit checkpoints leave the server', () => {
  it('POSTs signed checkpoints to an HTTP receiver, which audit verify --checkpoints then accepts', async () => {
    const receiver = await startReceiver()
    const srv = await startTestServer({ config: { audit: { checkpoints: { every_events: 2, http: { url: receiver.url, token: RECEIVER_TOKEN } } } } })
    cleanups.push(() => srv.stop())
    const alice = await loginWithPassword(srv.url)
    for (let i = 0; i < 5; i++) expect((await signFor(srv.url, alice.access_token, 'vm.example.com')).status).toBe(200)
    await srv.server.close() // the last checkpoint goes out at shutdown
    const head = (await auditRows(srv.configPath)).at(-1)!
    await checkpointOf(head.seq, receiver)

    const keys = auditKeysOf(srv.configPath)
    expect(receiver.bodies.length).toBeGreaterThanOrEqual(3)
    for (const body of receiver.bodies) expect(readCheckpoint(body, keys.checkpoint)).toMatchObject({ ok: true, checkpoint: { type: 'jitssh.audit.checkpoint', key_id: keys.checkpoint.id } })
    expect(new Set(receiver.authorizations)).toEqual(new Set([`Bearer ${RECEIVER_TOKEN}`]))
    const last = JSON.parse(receiver.bodies.at(-1)!) as Checkpoint
    expect(last).toMatchObject({ seq: head.seq, hash: head.hash })
    expect(last.hash).toMatch(/^hmac-sha256:[0-9a-f]{16}:[0-9a-f]{64}$/)

    const saved = join(srv.dir, 'from-receiver.jsonl')
    writeFileSync(saved, receiver.bodies.map((body) => `${body}\n`).join(''))
    const verified = await runServerCli(['audit', 'verify', '--config', srv.configPath, '--checkpoints', saved])
    expect(verified.code).toBe(0)
    expect(verified.stdout).toContain(`checkpoints: ${receiver.bodies.length} of ${receiver.bodies.length} in ${saved} match the chain; the newest match is seq ${head.seq}`)
  })

  it('writes checkpoints as JSON lines on standard output (stdout: true) while the logs go elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jitssh-checkpoint-stdout-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const configPath = await writeTestConfig(dir, { config: { audit: { checkpoints: { stdout: true, file: false } } } })
    const stdout = new PassThrough()
    let out = ''
    stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const server = await createServer(loadConfig(configPath), { stdout, logStream: new PassThrough().resume() })
    const url = await server.listen()
    await loginWithPassword(url)
    await server.close()

    const lines = out.trimEnd().split('\n')
    const keys = auditKeysOf(configPath)
    const head = (await auditRows(configPath)).at(-1)!
    expect(lines).toHaveLength(1)
    expect(readCheckpoint(lines[0]!, keys.checkpoint)).toMatchObject({ ok: true, checkpoint: { seq: head.seq, hash: head.hash } })
  })

  it('a receiver that never answers blocks no signing request, and its queue stays bounded', async () => {
    const held: Socket[] = []
    const blackHole = createTcpServer((socket) => void held.push(socket)) // accepts, reads nothing, never answers
    const port = await listenOnLoopback(blackHole)
    cleanups.push(() => {
      for (const socket of held) socket.destroy()
      blackHole.close()
    })
    const srv = await startTestServer({
      config: {
        metrics: { enabled: true },
        audit: { checkpoints: { every_events: 1, http: { url: `http://127.0.0.1:${port}/ingest`, timeout: '30s', max_queue: 5 } } },
      },
    })
    cleanups.push(() => srv.stop())
    const alice = await loginWithPassword(srv.url)
    const signed = await Promise.all(Array.from({ length: 40 }, () => signFor(srv.url, alice.access_token, 'vm.example.com')))
    expect(signed.map((result) => result.status)).toEqual(Array.from({ length: 40 }, () => 200))

    const values = seriesValues(parseExposition(await (await fetch(`${srv.url}/metrics`)).text()))
    expect(values.get('jitssh_audit_checkpoints_total{outcome="delivered",sink="http"}')).toBe(0)
    // 42+ checkpoints (login, token, 40 signatures): one in flight, at most 5 waiting, the rest dropped.
    expect(values.get('jitssh_audit_checkpoints_total{outcome="dropped",sink="http"}')).toBeGreaterThanOrEqual(42 - 6)
    expect(values.get('jitssh_audit_checkpoints_total{outcome="delivered",sink="file"}')).toBeGreaterThanOrEqual(1)
    expect(held.length).toBe(1)
  })
})

async function auditRows(configPath: string) {
  const store = await openStore(loadConfig(configPath).storage, { listenForRevocations: false })
  try {
    return await store.audit.read(0, 100_000)
  } finally {
    await store.close()
  }
}
