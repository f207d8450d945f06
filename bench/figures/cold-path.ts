/**
 * Figure 1c: the `Match exec` command when there is no certificate yet (a new host, or the last one expired)
 * but an access token is cached: the fast path misses, the CLI makes a new Ed25519 key, has the server sign it
 * (one HTTP round trip to jitssh-server in its own process: token, session, policy, signature, the certificate
 * row and its audit event written durably) and writes key and certificate (atomically, fsynced). Against
 * `node -e 0`, in one bash loop as figure 1; the certificate files are removed before each cold run, untimed.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { VM_HOST } from '../../test/helpers/stack.js'
import type { BenchEnvironment } from '../environment.js'
import { fmt, median, percentile } from '../stats.js'
import type { Row } from '../report.js'
import { runBash, shellQuote } from '../shell.js'
import { matchExecCommand } from './ssh-gen.js'

export const COLD_PATH_BUDGET = 3

export async function benchColdPath(bench: BenchEnvironment, runs: number): Promise<Row> {
  const exec = matchExecCommand(readFileSync(bench.sshConfigPath, 'utf8'), VM_HOST)
  const certs = join(bench.env.JITSSH_HOME!, 'certs')
  const key = join(certs, VM_HOST)
  const node = process.execPath
  // Rounds 0-1 are not measured: page cache, and the first one may refresh the access token.
  const script = `
set -u
cold() { rm -f ${shellQuote(key)} ${shellQuote(`${key}-cert.pub`)}; s=$EPOCHREALTIME; ${exec} >/dev/null 2>/tmp/jitssh-bench-cold.$$ < /dev/null || { cat /tmp/jitssh-bench-cold.$$ >&2; exit 3; }; e=$EPOCHREALTIME; [ -s ${shellQuote(`${key}-cert.pub`)} ] || exit 4; }
base() { s=$EPOCHREALTIME; '${node}' -e 0 >/dev/null 2>&1 < /dev/null; e=$EPOCHREALTIME; }
order="cold base"
for ((i = 0; i < ${runs + 2}; i++)); do
  for which in $order; do
    $which
    (( i >= 2 )) && echo "$which $s $e"
  done
  order="\${order#* } \${order%% *}"
done
rm -f /tmp/jitssh-bench-cold.$$
`
  const result = await runBash(script, bench.env)
  if (result.code !== 0) throw new Error(`ssh-gen cold path failed (exit ${result.code}): ${exec}\n${result.stderr}`)
  const samples: Record<string, number[]> = { cold: [], base: [] }
  for (const line of result.stdout.trim().split('\n')) {
    const [which, start, end] = line.split(' ')
    samples[which!]!.push((Number(end) - Number(start)) * 1000)
  }
  const base = median(samples.base!)
  const ms = median(samples.cold!)
  return {
    id: '1c',
    what: '`ssh-gen` cold path (access token cached, no certificate: new key, signing round trip, files written), wall time',
    jitssh: `${fmt(ms)} ms (p90 ${fmt(percentile(samples.cold!, 90))})`,
    baselines: `\`node -e 0\` ${fmt(base)} ms (p90 ${fmt(percentile(samples.base!, 90))})`,
    ratio: `${fmt(ms / base, 2)}× node`,
    budget: `≤ ${COLD_PATH_BUDGET}× node`,
    pass: ms / base <= COLD_PATH_BUDGET,
    notes: `median of ${runs} runs each, alternating; the Match exec command of figure 1 (through the launcher) with ${VM_HOST}'s key and certificate removed before each run (untimed); jitssh-server in its own process on SQLite`,
  }
}
