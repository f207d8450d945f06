/**
 * Figure 1: the `Match exec` command ssh runs before every connection (taken verbatim from the ssh config
 * `jitssh ssh-config --write` produced, %h filled in: the launcher JITSSH_HOME/bin/jitssh), with a warm
 * certificate on disk, against `node -e 0`; beside it the same ssh-gen without the launcher, and (1b) the
 * standalone executable through its launcher when `npm run build:sea` has built it.
 * Timed by one bash loop (EPOCHREALTIME around each command, alternating), not by node's spawn: bash forks
 * and execs as ssh's shell would, and adds far less of its own time to both sides.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { installLauncher } from '../../src/client/ssh-config/launcher.js'
import { VERSION } from '../../src/shared/version.js'
import { REPO_ROOT, VM_HOST } from '../../test/helpers/stack.js'
import { PACKAGED_JITSSH_BIN, type BenchEnvironment } from '../environment.js'
import { median, percentile, fmt } from '../stats.js'
import type { Row } from '../report.js'
import { runBash } from '../shell.js'

export const SSH_GEN_BUDGET = 1.15

/**
 * The exec command of our `Match final host <host> [user ...] exec "..."` line, with %h and %r filled in as ssh
 * would (%r: the login, the `User` of the block, or `login`).
 */
export function matchExecCommand(configText: string, host: string, login?: string): string {
  const lines = configText.split('\n')
  const line = lines.find((l) => l.startsWith(`Match final host ${host} `) && l.includes(' exec "'))
  if (line === undefined) throw new Error(`no Match exec line for ${host} in the ssh config:\n${configText}`)
  const user = login ?? /^\s+User (\S+)$/m.exec(configText)?.[1]
  if (line.includes('%r') && user === undefined) throw new Error(`the Match exec line for ${host} needs a login (%r) and the block sets no User`)
  const command = line.slice(line.indexOf('exec "') + 'exec "'.length, line.lastIndexOf('"'))
  return command.replaceAll('%h', host).replaceAll('%r', user ?? '').replaceAll('%%', '%')
}

export async function benchSshGen(bench: BenchEnvironment, runs: number): Promise<Row[]> {
  const exec = matchExecCommand(readFileSync(bench.sshConfigPath, 'utf8'), VM_HOST)
  const node = process.execPath
  const args = exec.slice(exec.indexOf(' ssh-gen ') + 1)
  // The same ssh-gen without the launcher (what blocks ran before it), and the standalone executable
  // (npm run build:sea) through a launcher of its own, as its ssh-config would write it.
  const direct = `'${node}' '${join(dirname(PACKAGED_JITSSH_BIN), 'jitssh-ssh-gen.cjs')}' ${args}`
  let standalone: string | null = null
  const seaExecutable = join(REPO_ROOT, 'dist', 'sea', 'jitssh')
  const seaDir = mkdtempSync(join(tmpdir(), 'jitssh-bench-sea-'))
  if (existsSync(seaExecutable)) {
    const seaPaths = jitsshPaths({ JITSSH_HOME: seaDir }, seaDir)
    const { path } = await installLauncher(seaPaths, { execPath: seaExecutable, scriptPath: null }, VERSION)
    standalone = `'${path}' ${args}`
  }
  // Each round: every command, in rotating order; a failing ssh-gen stops the loop (exit 3).
  const variants = ['base', 'fast', 'direct', ...(standalone === null ? [] : ['sea'])]
  const script = `
set -u
fast() { ${exec} >/dev/null 2>&1 < /dev/null || exit 3; }
direct() { ${direct} >/dev/null 2>&1 < /dev/null || exit 3; }
sea() { ${standalone ?? 'true'} >/dev/null 2>&1 < /dev/null || exit 3; }
base() { '${node}' -e 0 >/dev/null 2>&1 < /dev/null; }
order="${variants.join(' ')}"
for ((i = 0; i < ${runs + 3}; i++)); do
  for which in $order; do
    s=$EPOCHREALTIME; $which; e=$EPOCHREALTIME
    (( i >= 3 )) && echo "$which $s $e"
  done
  order="\${order#* } \${order%% *}"
done
`
  const result = await runBash(script, bench.env).finally(() => rmSync(seaDir, { recursive: true, force: true }))
  if (result.code !== 0) throw new Error(`ssh-gen fast path failed (exit ${result.code}): ${exec}\n${result.stderr}`)
  const samples: Record<string, number[]> = Object.fromEntries(variants.map((variant) => [variant, []]))
  for (const line of result.stdout.trim().split('\n')) {
    const [which, start, end] = line.split(' ')
    samples[which!]!.push((Number(end) - Number(start)) * 1000)
  }
  const base = median(samples.base!)
  const baseCell = `\`node -e 0\` ${fmt(base)} ms (p90 ${fmt(percentile(samples.base!, 90))})`
  const row = (id: string, what: string, which: string, notes: string): Row => {
    const ms = median(samples[which]!)
    return {
      id,
      what,
      jitssh: `${fmt(ms)} ms (p90 ${fmt(percentile(samples[which]!, 90))})`,
      baselines: baseCell,
      ratio: `${fmt(ms / base, 2)}× node`,
      budget: `≤ ${SSH_GEN_BUDGET}× node`,
      pass: ms / base <= SSH_GEN_BUDGET,
      notes,
    }
  }
  const directMs = median(samples.direct!)
  const rows = [
    row(
      '1',
      '`ssh-gen` fast path (warm certificate), wall time',
      'fast',
      `median of ${runs} runs each, rotating order; command: \`${exec.replace(/'/g, '')}\` (the launcher, which execs node on the jitssh package's bin/jitssh-ssh-gen.cjs); without the launcher ${fmt(directMs)} ms (${fmt(directMs / base, 2)}× node)`,
    ),
  ]
  if (standalone !== null) {
    rows.push(row('1b', '`ssh-gen` fast path of the standalone executable (`npm run build:sea`), through its launcher', 'sea', `median of ${runs} runs each, in the same loop as 1; ${seaExecutable} (Node single-executable application with a V8 code cache)`))
  } else {
    rows.push({ id: '1b', what: '`ssh-gen` fast path of the standalone executable', jitssh: 'not built', baselines: baseCell, ratio: '—', budget: `≤ ${SSH_GEN_BUDGET}× node`, pass: null, notes: 'run npm run build:sea first' })
  }
  return rows
}
