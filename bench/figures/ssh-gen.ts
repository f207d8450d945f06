/**
 * Figure 1: the `Match exec` command ssh runs before every connection (taken verbatim from the ssh config
 * `jitssh ssh-config --write` produced, %h filled in), with a warm certificate on disk, against `node -e 0`.
 * Timed by one bash loop (EPOCHREALTIME around each command, alternating), not by node's spawn: bash forks
 * and execs as ssh's shell would, and adds far less of its own time to both sides.
 */
import { readFileSync } from 'node:fs'
import { VM_HOST } from '../../test/helpers/stack.js'
import type { BenchEnvironment } from '../environment.js'
import { median, percentile, fmt } from '../stats.js'
import type { Row } from '../report.js'
import { runBash } from '../shell.js'

export const SSH_GEN_BUDGET = 1.15

/** The exec command of our `Match final host <host> exec "..."` line. */
export function matchExecCommand(configText: string, host: string): string {
  const line = configText.split('\n').find((l) => l.startsWith(`Match final host ${host} exec "`))
  if (line === undefined) throw new Error(`no Match exec line for ${host} in the ssh config:\n${configText}`)
  const command = line.slice(line.indexOf('exec "') + 'exec "'.length, line.lastIndexOf('"'))
  return command.replaceAll('%h', host).replaceAll('%%', '%')
}

export async function benchSshGen(bench: BenchEnvironment, runs: number): Promise<Row> {
  const exec = matchExecCommand(readFileSync(bench.sshConfigPath, 'utf8'), VM_HOST)
  const node = process.execPath
  // Each round: both commands, in alternating order; a failing ssh-gen stops the loop (exit 3).
  const script = `
set -u
fast() { ${exec} >/dev/null 2>&1 < /dev/null || exit 3; }
base() { '${node}' -e 0 >/dev/null 2>&1 < /dev/null; }
for ((i = 0; i < ${runs + 3}; i++)); do
  if (( i % 2 )); then order="fast base"; else order="base fast"; fi
  for which in $order; do
    s=$EPOCHREALTIME; $which; e=$EPOCHREALTIME
    (( i >= 3 )) && echo "$which $s $e"
  done
done
`
  const result = await runBash(script, bench.env)
  if (result.code !== 0) throw new Error(`ssh-gen fast path failed (exit ${result.code}): ${exec}\n${result.stderr}`)
  const samples: Record<string, number[]> = { fast: [], base: [] }
  for (const line of result.stdout.trim().split('\n')) {
    const [which, start, end] = line.split(' ')
    samples[which!]!.push((Number(end) - Number(start)) * 1000)
  }
  const fast = median(samples.fast!)
  const base = median(samples.base!)
  const ratio = fast / base
  return {
    id: '1',
    what: '`ssh-gen` fast path (warm certificate), wall time',
    jitssh: `${fmt(fast)} ms (p90 ${fmt(percentile(samples.fast!, 90))})`,
    baselines: `\`node -e 0\` ${fmt(base)} ms (p90 ${fmt(percentile(samples.base!, 90))})`,
    ratio: `${fmt(ratio, 2)}× node`,
    budget: `≤ ${SSH_GEN_BUDGET}× node`,
    pass: ratio <= SSH_GEN_BUDGET,
    notes: `median of ${runs} runs each, alternating; command: \`${exec.replace(/'/g, '')}\``,
  }
}
