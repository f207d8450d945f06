/**
 * `npm run bench [-- --quick] [-- --only=1,3]`: the numbers of DESIGN.md ("Numbers we hold ourselves to"),
 * each measured against its baseline in the same run, on 127.0.0.1 only. Prints a markdown table, writes it
 * with the machine's details to bench/results.md, and exits 1 when a budget is missed.
 *
 *   1  ssh-gen fast path vs `node -e 0` (1b: the standalone executable; 1c: the cold path, no certificate yet)
 *      (jitssh-server in its own process throughout)
 *   2  `ssh vm true`: jitssh vs direct (and ProxyJump)
 *   3  bulk transfer, both directions: jitssh vs a socat relay of the same shape (and direct, ProxyJump)
 *   4  sign endpoint vs a sign-only fastify server (and /healthz) under 32 and 64 clients (each server in its own process)
 *   5  1,000 concurrent tunnels, server peak RSS
 *   6  admin revoke → live tunnel closed
 */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBenchEnvironment } from './environment.js'
import { benchBulk } from './figures/bulk.js'
import { benchColdPath } from './figures/cold-path.js'
import { benchConnect } from './figures/connect.js'
import { benchSign } from './figures/sign.js'
import { benchSshGen } from './figures/ssh-gen.js'
import { benchRevoke, benchTunnels, ECHO_HOST, openFilesLimit, startEchoServer } from './figures/tunnels.js'
import { describeMachine, renderMachine, renderNotes, renderTable, writeResults, type Row } from './report.js'
import { startServerProcess } from './server-process.js'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))

interface Settings {
  quick: boolean
  only: Set<string> | null
}

function parseArgs(argv: string[]): Settings {
  let quick = false
  let only: Set<string> | null = null
  for (const arg of argv) {
    if (arg === '--quick') quick = true
    else if (arg.startsWith('--only=')) only = new Set(arg.slice('--only='.length).split(','))
    else throw new Error(`unknown argument ${arg} (use --quick, --only=1,2,3,4,5,6)`)
  }
  return { quick, only }
}

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`)

async function main(): Promise<number> {
  const settings = parseArgs(process.argv.slice(2))
  const wanted = (figure: string): boolean => settings.only === null || settings.only.has(figure)
  const q = settings.quick
  const plan = {
    sshGenRuns: q ? 15 : 60,
    coldRuns: q ? 8 : 30,
    connectRuns: q ? 5 : 15,
    bulkMegabytes: q ? 128 : 512,
    bulkRuns: q ? 1 : 3,
    signConcurrency: [32, 64],
    signRuns: q ? 1 : 3,
    signSeconds: q ? 2 : 4,
    tunnels: 1000,
    revokeRuns: q ? 3 : 7,
  }
  const machine = describeMachine()
  const rows: Row[] = []
  const started = Date.now()

  if (['1', '2', '3'].some(wanted)) {
    log('starting sshd, jitssh-server (own process), the bastion sshd; jitssh login in headless Chromium')
    const bench = await startBenchEnvironment(log)
    try {
      if (wanted('1')) {
        log(`1: ssh-gen fast path vs node -e 0 (${plan.sshGenRuns} runs)`)
        rows.push(...(await benchSshGen(bench, plan.sshGenRuns)))
        log(`1c: ssh-gen cold path vs node -e 0 (${plan.coldRuns} runs)`)
        rows.push(await benchColdPath(bench, plan.coldRuns))
      }
      if (wanted('2')) {
        log(`2: ssh vm true via jitssh / direct / ProxyJump (${plan.connectRuns} runs)`)
        rows.push(await benchConnect(bench, plan.connectRuns))
      }
      if (wanted('3')) {
        log(`3: bulk ${plan.bulkMegabytes} MB up and down (${plan.bulkRuns} runs)`)
        rows.push(...(await benchBulk(bench, { megabytes: plan.bulkMegabytes, runs: plan.bulkRuns })))
      }
    } finally {
      await bench.stop()
    }
  }

  const serverOptions = (echoPort: number) => ({
    targets: { [ECHO_HOST]: `127.0.0.1:${echoPort}` },
    config: {
      admins: { users: ['bob'] },
      // The load test logs in one session per client, and every client (and all 1000 tunnels) comes from
      // this one address: let them through. /metrics (on loopback) says how many tunnels are live.
      rate_limits: { login_posts_per_minute: 100_000, token_per_minute: 100_000, sign_per_minute: 1_000_000, tunnel_per_minute: 1_000_000 },
      connections: { per_ip: 100_000 },
      metrics: { enabled: true },
    },
  })
  if (['4', '5', '6'].some(wanted)) {
    const echo = await startEchoServer()
    try {
      if (wanted('4')) {
        log(`4: sign vs sign-only baseline and /healthz at ${plan.signConcurrency.join(' and ')} clients (${plan.signRuns} × ${plan.signSeconds} s each), jitssh-server in its own process`)
        const server = await startServerProcess(serverOptions(echo.port))
        try {
          rows.push(...(await benchSign(server, { concurrency: plan.signConcurrency, runs: plan.signRuns, seconds: plan.signSeconds })))
        } finally {
          await server.stop()
        }
      }
      if (wanted('5') || wanted('6')) {
        // A fresh server process: its peak RSS is then the tunnels' alone, not the sign load's.
        const server = await startServerProcess(serverOptions(echo.port))
        try {
          if (wanted('5')) {
            log(`5: ${plan.tunnels} concurrent tunnels, jitssh-server in its own process`)
            rows.push(await benchTunnels(server, echo, plan.tunnels))
          }
          if (wanted('6')) {
            log(`6: revoke → tunnel closed (${plan.revokeRuns} runs)`)
            rows.push(await benchRevoke(server, plan.revokeRuns))
          }
        } finally {
          await server.stop()
        }
      }
    } finally {
      await echo.close()
    }
  }

  const table = renderTable(rows)
  const notes = renderNotes(rows)
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  process.stdout.write(`\n${table}\n\n${notes}\n\n(${settings.quick ? 'quick run, ' : ''}${seconds} s)\n`)
  const missed = rows.filter((row) => row.pass === false)
  if (settings.only === null && !settings.quick) {
    const body = [
      '# jitssh benchmark results',
      '',
      'Written by `npm run bench` (bench/run.ts). Budgets: DESIGN.md, "Numbers we hold ourselves to"; every ratio is against a',
      'baseline measured in the same run, on 127.0.0.1. The machine is shared (other test runs may load it): medians, interleaved runs.',
      '',
      table,
      '',
      notes,
      '',
      '## Machine',
      '',
      renderMachine(machine, { 'Run time': `${seconds} s`, 'Open files limit': openFilesLimit() }),
      '',
    ].join('\n')
    writeResults(join(BENCH_DIR, 'results.md'), body)
    log('wrote bench/results.md')
  }
  if (missed.length > 0) {
    log(`budget missed: ${missed.map((row) => row.id).join(', ')}`)
    return 1
  }
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 2
  },
)
