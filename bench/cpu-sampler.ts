/**
 * Where the CPU time goes during a measurement: samples /proc every `intervalMs` and keeps, per process that
 * existed during the window, the CPU time (user+system) it used within it, grouped by a label from its
 * command line. Only this process and its descendants count. A process that exits loses at most its last
 * interval: good enough to see who is busy.
 */
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

interface Seen {
  label: string
  first: number
  last: number
}

interface Stat {
  /** utime + stime */
  ticks: number
  parent: string
  startTime: string
}

/** One read of /proc/<pid>/stat. */
function readStat(pid: string): Stat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { ticks: Number(fields[11]) + Number(fields[12]), parent: fields[1] ?? '0', startTime: fields[19] ?? '' }
  } catch {
    return undefined
  }
}

/** Whether `pid` is `root` or descends from it (other people's processes on a shared machine do not count). */
function descendsFrom(pid: string, root: string): boolean {
  for (let current: string | undefined = pid, hops = 0; current !== undefined && current !== '0' && hops < 64; hops++) {
    if (current === root) return true
    current = readStat(current)?.parent
  }
  return false
}

function labelOf(pid: string, classify: (cmdline: string[]) => string | undefined): string | undefined {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    return classify(cmdline)
  } catch {
    return undefined
  }
}

export class CpuSampler {
  private readonly seen = new Map<string, Seen>()
  /** Processes that do not descend from this one (other people's), by pid and start time: never looked at twice. */
  private readonly foreign = new Set<string>()
  private timer: NodeJS.Timeout | undefined
  private started = false

  /** `classify` names the processes of interest (undefined = ignore). */
  constructor(
    private readonly classify: (cmdline: string[]) => string | undefined,
    private readonly intervalMs = 50,
  ) {}

  start(): void {
    this.sample()
    this.timer = setInterval(() => this.sample(), this.intervalMs)
  }

  /** Stops and returns CPU seconds per label within the window. */
  stop(): Record<string, number> {
    clearInterval(this.timer)
    this.sample()
    const totals: Record<string, number> = {}
    for (const entry of this.seen.values()) totals[entry.label] = (totals[entry.label] ?? 0) + (entry.last - entry.first) / TICKS_PER_SECOND
    return totals
  }

  private sample(): void {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue
      const stat = readStat(pid)
      if (stat === undefined) continue
      const known = this.seen.get(pid)
      if (known) {
        known.last = stat.ticks
        continue
      }
      const identity = `${pid}@${stat.startTime}`
      if (this.foreign.has(identity)) continue
      if (!descendsFrom(pid, String(process.pid))) {
        this.foreign.add(identity)
        continue
      }
      // Ours, and looked at again while of no interest: a forked child (the ProxyCommand's shell) execs its
      // program later. A process first seen now started within the window (or we are at the window's start):
      // count from 0 unless this is the very first sample.
      const label = labelOf(pid, this.classify)
      if (label !== undefined) this.seen.set(pid, { label, first: this.started ? 0 : stat.ticks, last: stat.ticks })
    }
    this.started = true
  }
}
