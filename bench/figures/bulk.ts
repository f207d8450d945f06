/**
 * Figure 3: bulk transfer through the tunnel, both directions, /dev/zero → /dev/null so no disk is involved
 * (ssh encrypts it, so the tunnel carries incompressible bytes):
 *   upload:   head -c <size> /dev/zero | ssh <host> 'cat > /dev/null'
 *   download: ssh <host> 'head -c <size> /dev/zero' > /dev/null
 * through jitssh, through the socat relay of the same shape (bench/relay.ts: the budget's baseline), directly,
 * and through ProxyJump; MB/s of the whole command (connection setup included). Also: CPU seconds per GiB of
 * each process on every path, to show where the time goes.
 */
import type { BenchEnvironment } from '../environment.js'
import { CpuSampler } from '../cpu-sampler.js'
import { fmt, interleave, median } from '../stats.js'
import type { Row } from '../report.js'
import { runBash, shellQuote } from '../shell.js'
import { SSH_PATH } from '../../test/helpers/sshd.js'
import { nowMs } from '../stats.js'

export const BULK_BUDGET = 0.9

const VARIANTS = ['jitssh', 'relay', 'direct', 'proxyjump'] as const
type Variant = (typeof VARIANTS)[number]
type Direction = 'upload' | 'download'

const NAMES: Record<Variant, string> = { jitssh: 'jitssh', relay: 'socat relay', direct: 'direct', proxyjump: 'ProxyJump' }

function classify(cmdline: string[]): string | undefined {
  const line = cmdline.join(' ')
  if (cmdline.includes('ssh') && /jitssh(\.js|\.cjs|-ssh\.cjs)?\b/.test(line) && cmdline[0]?.endsWith('node')) return 'jitssh ssh (ProxyCommand)'
  if (cmdline[0]?.endsWith('sshd') || cmdline[0]?.startsWith('sshd')) return 'sshd'
  if (cmdline[0] === SSH_PATH || cmdline[0] === 'ssh') return cmdline.includes('-W') ? 'ssh -W (ProxyJump)' : 'ssh'
  if (cmdline[0] === 'socat' || cmdline[0]?.endsWith('/socat')) return cmdline.some((arg) => arg.startsWith('TCP-LISTEN:')) ? 'socat relay' : 'socat - (ProxyCommand)'
  return undefined
}

export async function benchBulk(bench: BenchEnvironment, options: { megabytes: number; runs: number }): Promise<Row[]> {
  const { megabytes, runs } = options
  const command = (variant: Variant, direction: Direction): string => {
    const ssh = [SSH_PATH, ...bench.sshVia[variant]].map(shellQuote).join(' ')
    return direction === 'upload'
      ? `head -c ${megabytes}M /dev/zero | ${ssh} 'cat > /dev/null'`
      : `${ssh} 'head -c ${megabytes}M /dev/zero' > /dev/null`
  }
  // CPU seconds per GiB by process, per variant (every variant is sampled alike: the sampler costs a little).
  const cpu = Object.fromEntries((['upload', 'download'] as const).map((d) => [d, Object.fromEntries(VARIANTS.map((v) => [v, {}]))])) as Record<Direction, Record<Variant, Record<string, number[]>>>
  const transfer = (variant: Variant, direction: Direction) => async (): Promise<number> => {
    const sampler = new CpuSampler(classify, 50)
    const serverCpu = bench.server.cpuSeconds()
    sampler.start()
    const start = nowMs()
    const result = await runBash(`set -o pipefail; ${command(variant, direction)}`, bench.env)
    const seconds = (nowMs() - start) / 1000
    const used = sampler.stop()
    if (variant === 'jitssh') used['jitssh-server'] = bench.server.cpuSeconds() - serverCpu
    for (const [label, value] of Object.entries(used)) (cpu[direction][variant][label] ??= []).push(value / (megabytes / 1024))
    if (result.code !== 0) throw new Error(`${variant} ${direction} failed (${result.code}):\n${result.stderr}`)
    return megabytes / seconds
  }

  const rows: Row[] = []
  for (const direction of ['upload', 'download'] as const) {
    const samples = await interleave(runs, Object.fromEntries(VARIANTS.map((variant) => [variant, transfer(variant, direction)])) as Record<Variant, () => Promise<number>>)
    const rate = Object.fromEntries(VARIANTS.map((variant) => [variant, median(samples[variant])])) as Record<Variant, number>
    const perGb = (variant: Variant): string => {
      // (The relay's listening socat is sampled on every path; only the paths that use it show it.)
      const entries = Object.entries(cpu[direction][variant]).map(([label, values]) => [label, median(values)] as const).filter(([, value]) => value > 0)
      const total = entries.reduce((sum, [, value]) => sum + value, 0)
      return `${NAMES[variant]}: ${entries.map(([label, value]) => `${label} ${fmt(value, 2)}`).join(', ')} (total ${fmt(total, 2)})`
    }
    const range = (variant: Variant): string => `${fmt(Math.min(...samples[variant]), 0)}–${fmt(Math.max(...samples[variant]), 0)}`
    rows.push({
      id: direction === 'upload' ? '3a' : '3b',
      what: `bulk ${direction}, ${megabytes} MB ${direction === 'upload' ? "`/dev/zero | ssh vm 'cat > /dev/null'`" : "`ssh vm 'head -c … /dev/zero' > /dev/null`"}`,
      jitssh: `${fmt(rate.jitssh, 0)} MB/s`,
      baselines: `socat relay ${fmt(rate.relay, 0)} MB/s; direct ${fmt(rate.direct, 0)} MB/s; ProxyJump ${fmt(rate.proxyjump, 0)} MB/s`,
      ratio: `${fmt(rate.jitssh / rate.relay, 2)}× relay, ${fmt(rate.jitssh / rate.direct, 2)}× direct, ${fmt(rate.jitssh / rate.proxyjump, 2)}× ProxyJump`,
      budget: `≥ ${BULK_BUDGET}× relay`,
      pass: rate.jitssh >= BULK_BUDGET * rate.relay,
      notes: `median of ${runs} runs each, interleaved (ranges MB/s: ${VARIANTS.map((v) => `${NAMES[v]} ${range(v)}`).join(', ')}); MB = MiB, whole command incl. connection setup; CPU s/GiB by process — ${VARIANTS.map(perGb).join('; ')}`,
    })
  }
  return rows
}
