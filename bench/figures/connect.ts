/**
 * Figure 2: `ssh <host> true`, whole command wall time, through jitssh (Match exec ssh-gen with a warm
 * certificate + the `jitssh ssh` ProxyCommand + the bastion WebSocket), directly to the same sshd with the
 * same key and certificate, and through an OpenSSH bastion (ProxyJump). Interleaved, medians.
 */
import type { BenchEnvironment } from '../environment.js'
import { fmt, interleave, median, percentile, timeProcess } from '../stats.js'
import type { Row } from '../report.js'
import { SSH_PATH } from '../../test/helpers/sshd.js'

export const CONNECT_BUDGET = 1.25

export async function benchConnect(bench: BenchEnvironment, runs: number): Promise<Row> {
  const connect = (argv: string[]) => async (): Promise<number> => {
    const result = await timeProcess(SSH_PATH, [...argv, 'true'], bench.env)
    if (result.code !== 0) throw new Error(`ssh ${argv.join(' ')} true failed (${result.code}):\n${result.stderr}`)
    return result.ms
  }
  // One unmeasured round first: page cache, sshd's first fork.
  await interleave(1, { jitssh: connect(bench.sshVia.jitssh), direct: connect(bench.sshVia.direct), proxyjump: connect(bench.sshVia.proxyjump) })
  const samples = await interleave(runs, {
    jitssh: connect(bench.sshVia.jitssh),
    direct: connect(bench.sshVia.direct),
    proxyjump: connect(bench.sshVia.proxyjump),
  })
  const jitssh = median(samples.jitssh)
  const direct = median(samples.direct)
  const proxyjump = median(samples.proxyjump)
  const p90 = (values: number[]): string => fmt(percentile(values, 90), 0)
  return {
    id: '2',
    what: '`ssh vm true` (warm certificate), wall time',
    jitssh: `${fmt(jitssh, 0)} ms (p90 ${p90(samples.jitssh)})`,
    baselines: `direct ${fmt(direct, 0)} ms (p90 ${p90(samples.direct)}); ProxyJump ${fmt(proxyjump, 0)} ms (p90 ${p90(samples.proxyjump)})`,
    ratio: `${fmt(jitssh / direct, 2)}× direct, ${fmt(jitssh / proxyjump, 2)}× ProxyJump`,
    budget: `≤ ${CONNECT_BUDGET}× direct`,
    pass: jitssh <= CONNECT_BUDGET * direct,
    notes: `median of ${runs} runs each, interleaved; same key, certificate and host-CA check on all three; ProxyJump through a second sshd on 127.0.0.1`,
  }
}
