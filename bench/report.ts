/**
 * The benchmark's output: a markdown table (one row per figure), the machine it ran on, and bench/results.md.
 * A hand-written "## History" section already in results.md (before/after numbers) is kept below the new run.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'

export interface Row {
  id: string
  what: string
  jitssh: string
  baselines: string
  ratio: string
  budget: string
  /** true/false against a DESIGN.md budget; null when the row has none (diagnostic) or could not run. */
  pass: boolean | null
  notes: string
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

export function renderTable(rows: Row[]): string {
  const lines = [
    '| # | Figure | jitssh | Baselines (same run) | Ratio | Budget | Result |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const row of rows) {
    const result = row.pass === null ? '—' : row.pass ? 'pass' : '**MISS**'
    lines.push(`| ${row.id} | ${cell(row.what)} | ${cell(row.jitssh)} | ${cell(row.baselines)} | ${cell(row.ratio)} | ${cell(row.budget)} | ${result} |`)
  }
  return lines.join('\n')
}

export function renderNotes(rows: Row[]): string {
  return rows.filter((row) => row.notes !== '').map((row) => `- ${row.id}: ${row.notes}`).join('\n')
}

function tryRun(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr
    return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : 'unknown'
  }
}

export interface Machine {
  date: string
  cpu: string
  cores: number
  memoryGiB: number
  kernel: string
  node: string
  openssh: string
  commit: string
  loadAtStart: string
}

export function describeMachine(): Machine {
  const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown'
  // `ssh -V` prints to stderr.
  const openssh = tryRun('sh', ['-c', 'ssh -V 2>&1'])
  const dirty = tryRun('git', ['status', '--porcelain', '--untracked-files=no']) === '' ? '' : ' (with uncommitted changes)'
  return {
    date: new Date().toISOString(),
    cpu: cpuModel.trim(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `Linux ${release()}`,
    node: process.version,
    openssh,
    commit: `${tryRun('git', ['rev-parse', '--short', 'HEAD'])}${dirty}`,
    loadAtStart: loadavg().map((value) => value.toFixed(2)).join(' '),
  }
}

export function renderMachine(machine: Machine, extra: Record<string, string>): string {
  const entries: Array<[string, string]> = [
    ['Date', machine.date],
    ['CPU', `${machine.cpu}, ${machine.cores} cores`],
    ['Memory', `${machine.memoryGiB} GiB`],
    ['Kernel', machine.kernel],
    ['Node.js', machine.node],
    ['OpenSSH', machine.openssh],
    ['Commit', machine.commit],
    ['Load average at start (1/5/15 min)', machine.loadAtStart],
    ['Load average at end (1/5/15 min)', loadavg().map((value) => value.toFixed(2)).join(' ')],
    ...Object.entries(extra),
  ]
  return entries.map(([key, value]) => `- ${key}: ${value}`).join('\n')
}

/** Writes results.md: this run on top, then any "## History" section the file already had. */
export function writeResults(path: string, body: string): void {
  let history = ''
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8')
    const at = text.indexOf('\n## History')
    if (at >= 0) history = text.slice(at + 1)
  }
  writeFileSync(path, `${body.trimEnd()}\n${history ? `\n${history.trimEnd()}\n` : ''}`)
}
