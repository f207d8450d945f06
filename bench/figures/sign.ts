/**
 * Figure 4: `POST /v1/ssh/sign` under load against a bare endpoint on the same server (`GET /healthz`: same
 * fastify instance, hooks, logging and keep-alive; it answers from one `SELECT 1`). The server runs in its
 * own process (bench/server-process.ts); the load comes from this process: `clients` undici Clients, one
 * keep-alive connection each, each sending its next request when the last one is answered, for a fixed
 * time (and at most `maxRequests`). Every client has its own session (its own login and access token) and
 * its own Ed25519 key. Besides requests/s and latency, the server's own CPU time per request, which the
 * load generator sharing the machine cannot flatter.
 */
import { Client } from 'undici'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
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

export interface Endpoint {
  name: string
  request: (clientIndex: number) => { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string }
}

export async function runLoad(server: ServerProcess, endpoint: Endpoint, clients: number, seconds: number, maxRequests: number): Promise<LoadResult> {
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
  const healthz: Endpoint = { name: 'healthz', request: () => ({ method: 'GET', path: '/healthz', headers: {} }) }
  const sign: Endpoint = {
    name: 'sign',
    request: (index) => ({
      method: 'POST',
      path: '/v1/ssh/sign',
      headers: { authorization: `Bearer ${sessions[index]!.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: keys[index], hostname: 'vm.example.com' }),
    }),
  }

  const rows: Row[] = []
  for (const clients of options.concurrency) {
    const results: Record<string, LoadResult[]> = { healthz: [], sign: [] }
    for (let run = 0; run < options.runs; run++) {
      // Alternate which endpoint goes first in each run.
      const order = run % 2 === 0 ? [healthz, sign] : [sign, healthz]
      for (const endpoint of order) results[endpoint.name]!.push(await runLoad(server, endpoint, clients, options.seconds, 1_000_000))
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
    const h = summary('healthz')
    const ratio = s.rps / h.rps
    rows.push({
      id: options.concurrency.length > 1 ? `4${String.fromCharCode(97 + rows.length)}` : '4',
      what: `sign endpoint, ${clients} concurrent clients (own session each), keep-alive`,
      jitssh: `${fmt(s.rps, 0)} req/s, p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms; server CPU ${fmt(s.cpuUs, 0)} µs/req`,
      baselines: `\`/healthz\` ${fmt(h.rps, 0)} req/s, p50 ${fmt(h.p50, 1)} ms, p99 ${fmt(h.p99, 1)} ms; server CPU ${fmt(h.cpuUs, 0)} µs/req`,
      ratio: `${fmt(ratio, 2)}× bare`,
      budget: `≥ ${SIGN_BUDGET}× bare`,
      pass: ratio >= SIGN_BUDGET && s.errors === 0 && h.errors === 0,
      notes: `${options.runs} runs × ${options.seconds} s per endpoint, alternating; req/s = median of runs, latency percentiles over all requests; non-200 answers: sign ${s.errors}, healthz ${h.errors}; server in its own process, load generator (undici) in the bench process, both on this machine`,
    })
  }
  return rows
}
