// A single-flight lock between processes: an O_EXCL lock file holding {pid, host, started}. Waiters poll
// with backoff; a lock whose process is dead (same machine, kill(pid, 0) → ESRCH) or that is older than
// `staleMs` is taken over. Takeover itself is serialised by a second O_EXCL file, so two waiters that both
// saw the same stale lock cannot remove each other's fresh one.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { hostname } from 'node:os'
import { JitsshError } from '../../shared/errors.js'

export interface LockOptions {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  signal?: AbortSignal
  /** A lock older than this is abandoned, whatever its pid says. */
  staleMs: number
  /** Give up waiting after this long (ERR_LOCK_TIMEOUT). */
  timeoutMs: number
  /** Called once, when the lock is found busy. */
  onWait?: (holder: LockInfo | null) => void
  pid?: number
}

export interface LockInfo {
  pid: number
  host: string
  started: number
  token: string
}

export interface HeldLock {
  /** true when this process had to wait for another holder first (so its work may already be done). */
  waited: boolean
  release(): Promise<void>
}

/** Used when the lock file exists but its content is unreadable: give the writer this long to finish. */
const EMPTY_LOCK_GRACE_MS = 5_000

export async function acquireLock(path: string, options: LockOptions): Promise<HeldLock> {
  const started = options.now()
  const pid = options.pid ?? process.pid
  const info: LockInfo = { pid, host: hostname(), started, token: randomBytes(8).toString('hex') }
  let waited = false
  let delay = 20
  for (;;) {
    if (await tryCreate(path, info)) {
      return { waited, release: () => releaseLock(path, info.token) }
    }
    const holder = await readLock(path)
    if (await isAbandoned(path, holder, options)) {
      await takeOver(path, options)
      continue
    }
    if (!waited) options.onWait?.(holder)
    waited = true
    if (options.now() - started > options.timeoutMs) {
      throw new JitsshError('ERR_LOCK_TIMEOUT', `timed out waiting for another jitssh process (pid ${holder?.pid ?? '?'})`, {
        hint: `if no jitssh is running, remove ${path}`,
      })
    }
    await options.sleep(delay + Math.floor(Math.random() * delay), options.signal)
    delay = Math.min(delay * 2, 250)
  }
}

async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  let handle
  try {
    handle = await fs.open(path, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    await handle.writeFile(JSON.stringify(info))
  } finally {
    await handle.close()
  }
  return true
}

export async function readLock(path: string): Promise<LockInfo | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(path, 'utf8')) as Partial<LockInfo>
    if (typeof parsed.pid === 'number' && typeof parsed.started === 'number' && typeof parsed.token === 'string') {
      return { pid: parsed.pid, host: String(parsed.host ?? ''), started: parsed.started, token: parsed.token }
    }
    return null
  } catch {
    return null
  }
}

async function isAbandoned(path: string, holder: LockInfo | null, options: LockOptions): Promise<boolean> {
  if (holder === null) {
    // Missing (released meanwhile: just retry) or being written; abandoned only if it stays unreadable.
    try {
      const stat = await fs.stat(path)
      return options.now() - stat.mtimeMs > EMPTY_LOCK_GRACE_MS
    } catch {
      return false
    }
  }
  if (options.now() - holder.started > options.staleMs) return true
  if (holder.host !== hostname()) return false // another machine sharing this home: only age tells
  return !processAlive(holder.pid)
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function takeOver(path: string, options: LockOptions): Promise<void> {
  const guard = `${path}.takeover`
  let handle
  try {
    handle = await fs.open(guard, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // Someone else is taking over; if their guard is itself abandoned, clear it.
    try {
      const stat = await fs.stat(guard)
      if (options.now() - stat.mtimeMs > EMPTY_LOCK_GRACE_MS) await fs.rm(guard, { force: true })
    } catch {
      // gone already
    }
    await options.sleep(10, options.signal)
    return
  }
  try {
    await handle.close()
    // Re-read under the guard: only remove the lock if it is still the abandoned one.
    const holder = await readLock(path)
    if (await isAbandoned(path, holder, options)) await fs.rm(path, { force: true })
  } finally {
    await fs.rm(guard, { force: true })
  }
}

async function releaseLock(path: string, token: string): Promise<void> {
  const holder = await readLock(path)
  if (holder !== null && holder.token === token) await fs.rm(path, { force: true })
}
