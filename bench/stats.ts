/**
 * Small statistics and timing helpers for the benchmark: medians, percentiles, and wall-clock timing of a
 * child process from spawn to exit.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'

export function median(values: number[]): number {
  return percentile(values, 50)
}

/** Nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

export interface TimedRun {
  ms: number
  code: number | null
  stderr: string
}

/**
 * Spawns `command args` with stdin/stdout on /dev/null (stderr collected) and returns the wall time from
 * spawn to exit. The same spawn path for every variant, so its own overhead cancels out in ratios.
 */
export async function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<TimedRun> {
  const start = nowMs()
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'exit')) as [number | null]
  const ms = nowMs() - start
  clearTimeout(timer)
  return { ms, code, stderr }
}

/** Runs each variant `runs` times, interleaved (A B C A B C ...) so drifting machine load hits all alike. */
export async function interleave<K extends string>(runs: number, variants: Record<K, () => Promise<number>>): Promise<Record<K, number[]>> {
  const keys = Object.keys(variants) as K[]
  const samples = Object.fromEntries(keys.map((key) => [key, [] as number[]])) as Record<K, number[]>
  for (let i = 0; i < runs; i++) {
    // Rotate the starting variant each round: no variant always runs right after another.
    for (let j = 0; j < keys.length; j++) {
      const key = keys[(i + j) % keys.length]!
      samples[key].push(await variants[key]())
    }
  }
  return samples
}

export const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a')
