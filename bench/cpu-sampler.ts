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

function readTicks(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime, stime
  } catch {
    return undefined
  }
}

function parentOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]
  } catch {
    return undefined
  }
}

/** Whether `pid` is `root` or descends from it (other people's processes on a shared machine do not count). */
function descendsFrom(pid: string, root: string): boolean {
  for (let current: string | undefined = pid, hops = 0; current !== undefined && current !== '0' && hops < 64; hops++) {
    if (current === root) return true
    current = parentOf(current)
  }
  return false
}

function labelOf(pid: string, classify: (cmdline: string[]) => string | undefined): string | undefined {
  if (!descendsFrom(pid, String(process.pid))) return undefined
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    return classify(cmdline)
  } catch {
    return undefined
  }
}

export class CpuSampler {
  private readonly seen = new Map<string, Seen>()
  private timer: NodeJS.Timeout | undefined

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
      const known = this.seen.get(pid)
      const ticks = readTicks(pid)
      if (ticks === undefined) continue
      if (known) {
        known.last = ticks
        continue
      }
      const label = labelOf(pid, this.classify)
      // A process first seen now started within the window (or we are at the window's start): count from 0
      // unless this is the very first sample.
      if (label !== undefined) this.seen.set(pid, { label, first: this.started ? 0 : ticks, last: ticks })
    }
    this.started = true
  }

  private started = false
}
