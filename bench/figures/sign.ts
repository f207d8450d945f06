/**
 * Figure 4: `POST /v1/ssh/sign` under load against the sign-only baseline (bench/sign-baseline.ts: a bare
 * fastify server in its own process whose one endpoint makes the same Ed25519 signature over a payload of the
 * same size: the budget's reference), and beside it a bare endpoint on the jitssh server itself (`GET /healthz`:
 * same fastify instance, hooks, logging and keep-alive; it answers from one `SELECT 1`). The jitssh server runs
 * in its own process (bench/server-process.ts); the load comes from this process: `clients` undici Clients,
 * one keep-alive connection each, each sending its next request when the last one is answered, for a fixed
 * time (and at most `maxRequests`). Every client has its own session (its own login and access token) and
 * its own Ed25519 key. Besides requests/s and latency, each server's own CPU time per request, which the
 * load generator sharing the machine cannot flatter.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Client, request as undiciRequest } from 'undici'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { REPO_ROOT } from '../../test/helpers/stack.js'
import { loginWithPassword } from '../../test/helpers/server.js'
import { fmt, median, nowMs, percentile } from '../stats.js'
import type { Row } from '../report.js'
import type { ServerProcess } from '../server-process.js'

export const SIGN_BUDGET = 0.5

interface LoadResult {
  requests: number
  errors: number
  seconds: number
  latenciesMs: number[]
  serverCpuUsPerRequest: number
}

/** A server under load: where, and its process's CPU seconds so far. */
export interface LoadTarget {
  url: string
  cpuSeconds(): number
}

export interface Endpoint {
  name: string
  target: LoadTarget
  request: (clientIndex: number) => { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string }
}

/** bench/sign-baseline.ts in its own process (node with tsx's loader, as the bench itself runs). */
async function startSignBaseline(payloadBytes: number): Promise<LoadTarget & { stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'sign-baseline.ts'), String(payloadBytes)], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
  })
  const exited = once(child, 'exit')
  const lines = createInterface({ input: child.stdout })
  const [first] = (await Promise.race([once(lines, 'line'), exited.then(() => { throw new Error('the sign baseline server exited before listening') })])) as [string]
  const { url } = JSON.parse(first) as { url: string }
  const pid = child.pid!
  return {
    url,
    cpuSeconds: () => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) / 100
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
    },
  }
}

/** The size of the signed part of a certificate the server issues: its blob less the Ed25519 signature string (4 + 4 + 11 + 4 + 64 bytes). */
function signedPartBytes(certificateLine: string): number {
  return Buffer.from(certificateLine.split(' ')[1] ?? '', 'base64').length - 87
}

export async function runLoad(endpoint: Endpoint, clients: number, seconds: number, maxRequests: number): Promise<LoadResult> {
  const server = endpoint.target
  const origin = new URL(server.url).origin
  const pool = Array.from({ length: clients }, () => new Client(origin, { keepAliveTimeout: 30_000, pipelining: 1 }))
  const latenciesMs: number[] = []
  let errors = 0
  let sent = 0
  const one = async (index: number): Promise<void> => {
    const start = nowMs()
    const response = await pool[index]!.request(endpoint.request(index))
    await response.body.text()
    if (response.statusCode !== 200) errors++
    latenciesMs.push(nowMs() - start)
  }
  try {
    // Warm-up: connections open, JIT warm, one request per client.
    await Promise.all(pool.map((_, index) => one(index)))
    latenciesMs.length = 0
    errors = 0
    const cpuBefore = server.cpuSeconds()
    const start = nowMs()
    const deadline = start + seconds * 1000
    await Promise.all(
      pool.map(async (_, index) => {
        while (nowMs() < deadline && sent < maxRequests) {
          sent++
          await one(index)
        }
      }),
    )
    const elapsed = (nowMs() - start) / 1000
    const cpu = server.cpuSeconds() - cpuBefore
    return { requests: latenciesMs.length, errors, seconds: elapsed, latenciesMs, serverCpuUsPerRequest: (cpu * 1e6) / latenciesMs.length }
  } finally {
    await Promise.all(pool.map((client) => client.close()))
  }
}

export async function benchSign(server: ServerProcess, options: { concurrency: number[]; runs: number; seconds: number }): Promise<Row[]> {
  const maxClients = Math.max(...options.concurrency)
  const sessions: Array<Awaited<ReturnType<typeof loginWithPassword>>> = []
  for (let i = 0; i < maxClients; i++) sessions.push(await loginWithPassword(server.url))
  const keys = sessions.map(() => formatPublicKey(generateKeyPair('ssh-ed25519').publicKey))
  const signRequest = (index: number) => ({
    method: 'POST' as const,
    path: '/v1/ssh/sign',
    headers: { authorization: `Bearer ${sessions[index]!.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ public_key: keys[index], hostname: 'vm.example.com' }),
  })
  // One certificate first: its size is the baseline's payload size.
  const { path, ...init } = signRequest(0)
  const first = await undiciRequest(new URL(path, server.url), init)
  if (first.statusCode !== 200) throw new Error(`sign failed (${first.statusCode}): ${await first.body.text()}`)
  const payloadBytes = signedPartBytes(((await first.body.json()) as { certificate: string }).certificate)
  const baseline = await startSignBaseline(payloadBytes)
  const rows: Row[] = []
  try {
    const healthz: Endpoint = { name: 'healthz', target: server, request: () => ({ method: 'GET', path: '/healthz', headers: {} }) }
    const sign: Endpoint = { name: 'sign', target: server, request: signRequest }
    const signOnly: Endpoint = {
      name: 'baseline',
      target: baseline,
      request: (index) => ({ ...signRequest(index), path: '/sign', headers: { 'content-type': 'application/json' } }),
    }
    for (const clients of options.concurrency) rows.push(await loadAtConcurrency(clients, [sign, signOnly, healthz], options, options.concurrency.length > 1 ? `4${String.fromCharCode(97 + rows.length)}` : '4', payloadBytes))
  } finally {
    await baseline.stop()
  }
  return rows
}

async function loadAtConcurrency(clients: number, endpoints: Endpoint[], options: { runs: number; seconds: number }, id: string, payloadBytes: number): Promise<Row> {
  const results: Record<string, LoadResult[]> = Object.fromEntries(endpoints.map((endpoint) => [endpoint.name, []]))
  for (let run = 0; run < options.runs; run++) {
    // Rotate which endpoint goes first in each run.
    const order = endpoints.map((_, i) => endpoints[(i + run) % endpoints.length]!)
    for (const endpoint of order) results[endpoint.name]!.push(await runLoad(endpoint, clients, options.seconds, 1_000_000))
  }
  const rps = (r: LoadResult): number => r.requests / r.seconds
  const summary = (name: string) => {
    const list = results[name]!
    const all = list.flatMap((r) => r.latenciesMs)
    return {
      rps: median(list.map(rps)),
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      errors: list.reduce((sum, r) => sum + r.errors, 0),
      cpuUs: median(list.map((r) => r.serverCpuUsPerRequest)),
    }
  }
  const s = summary('sign')
  const b = summary('baseline')
  const h = summary('healthz')
  const ratio = s.rps / b.rps
  return {
    id,
    what: `sign endpoint, ${clients} concurrent clients (own session each), keep-alive`,
    jitssh: `${fmt(s.rps, 0)} req/s, p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms; server CPU ${fmt(s.cpuUs, 0)} µs/req`,
    baselines: `sign-only fastify ${fmt(b.rps, 0)} req/s, p50 ${fmt(b.p50, 1)} ms, p99 ${fmt(b.p99, 1)} ms, CPU ${fmt(b.cpuUs, 0)} µs/req; \`/healthz\` ${fmt(h.rps, 0)} req/s, p99 ${fmt(h.p99, 1)} ms, CPU ${fmt(h.cpuUs, 0)} µs/req`,
    ratio: `${fmt(ratio, 2)}× sign-only (${fmt(s.rps / h.rps, 2)}× /healthz)`,
    budget: `≥ ${SIGN_BUDGET}× sign-only`,
    pass: ratio >= SIGN_BUDGET && s.errors === 0 && b.errors === 0 && h.errors === 0,
    notes: `${options.runs} runs × ${options.seconds} s per endpoint, rotating order; req/s = median of runs, latency percentiles over all requests; non-200 answers: sign ${s.errors}, sign-only ${b.errors}, healthz ${h.errors}; sign-only = bench/sign-baseline.ts (bare fastify, own process, one Ed25519 signature over ${payloadBytes} bytes per request); servers in their own processes, load generator (undici) in the bench process, all on this machine`,
  }
}
