/**
 * Figure 3: bulk transfer through the tunnel, both directions, /dev/zero → /dev/null so no disk is involved
 * (ssh encrypts it, so the tunnel carries incompressible bytes):
 *   upload:   head -c <size> /dev/zero | ssh <host> 'cat > /dev/null'
 *   download: ssh <host> 'head -c <size> /dev/zero' > /dev/null
 * through jitssh, directly, and through ProxyJump; MB/s of the whole command (connection setup included:
 * it is the same few hundred ms for all and small beside the transfer). Also: CPU seconds per GB of each
 * process on the jitssh path, to show where the time goes.
 */
import type { BenchEnvironment } from '../environment.js'
import { CpuSampler } from '../cpu-sampler.js'
import { fmt, interleave, median } from '../stats.js'
import type { Row } from '../report.js'
import { runBash, shellQuote } from '../shell.js'
import { SSH_PATH } from '../../test/helpers/sshd.js'
import { nowMs } from '../stats.js'

export const BULK_BUDGET = 0.9

type Variant = 'jitssh' | 'direct' | 'proxyjump'
type Direction = 'upload' | 'download'

function classify(cmdline: string[]): string | undefined {
  const line = cmdline.join(' ')
  if (line.includes('jitssh.js') && cmdline.includes('ssh')) return 'jitssh ssh (ProxyCommand)'
  if (cmdline[0]?.endsWith('sshd') || cmdline[0]?.startsWith('sshd')) return 'sshd'
  if (cmdline[0] === SSH_PATH || cmdline[0] === 'ssh') return cmdline.includes('-W') ? 'ssh -W (ProxyJump)' : 'ssh'
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
  const cpu: Record<Direction, Record<Variant, Record<string, number[]>>> = {
    upload: { jitssh: {}, direct: {}, proxyjump: {} },
    download: { jitssh: {}, direct: {}, proxyjump: {} },
  }
  const transfer = (variant: Variant, direction: Direction) => async (): Promise<number> => {
    const sampler = new CpuSampler(classify, 200)
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
    const samples = await interleave(runs, {
      jitssh: transfer('jitssh', direction),
      direct: transfer('direct', direction),
      proxyjump: transfer('proxyjump', direction),
    })
    const jitssh = median(samples.jitssh)
    const direct = median(samples.direct)
    const proxyjump = median(samples.proxyjump)
    const perGb = (variant: Variant): string => {
      const entries = Object.entries(cpu[direction][variant]).map(([label, values]) => [label, median(values)] as const)
      const total = entries.reduce((sum, [, value]) => sum + value, 0)
      return `${entries.map(([label, value]) => `${label} ${fmt(value, 2)}`).join(', ')} (total ${fmt(total, 2)})`
    }
    rows.push({
      id: direction === 'upload' ? '3a' : '3b',
      what: `bulk ${direction}, ${megabytes} MB ${direction === 'upload' ? "`/dev/zero | ssh vm 'cat > /dev/null'`" : "`ssh vm 'head -c … /dev/zero' > /dev/null`"}`,
      jitssh: `${fmt(jitssh, 0)} MB/s`,
      baselines: `direct ${fmt(direct, 0)} MB/s; ProxyJump ${fmt(proxyjump, 0)} MB/s`,
      ratio: `${fmt(jitssh / direct, 2)}× direct, ${fmt(jitssh / proxyjump, 2)}× ProxyJump`,
      budget: `≥ ${BULK_BUDGET}× direct`,
      pass: jitssh >= BULK_BUDGET * direct,
      notes: `median of ${runs} runs each, interleaved; MB = MiB, whole command incl. connection setup; CPU s/GiB by process — jitssh: ${perGb('jitssh')}; direct: ${perGb('direct')}; ProxyJump: ${perGb('proxyjump')}`,
    })
  }
  return rows
}
