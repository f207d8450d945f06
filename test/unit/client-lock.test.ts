import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isJitsshError } from '../../src/shared/errors.js'
import { acquireLock, readLock, type LockOptions } from '../../src/client/files/lock.js'
import { sleep } from '../../src/cli/context.js'

let dir: string
let path: string
const options = (over: Partial<LockOptions> = {}): LockOptions => ({ now: Date.now, sleep, staleMs: 60_000, timeoutMs: 10_000, ...over })

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jitssh-lock-'))
  path = join(dir, 'host-vm.lock')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(child.stdout.toString())
}

describe('acquireLock', () => {
  it('records pid, host and start time, and removes the file on release', async () => {
    const lock = await acquireLock(path, options())
    const info = await readLock(path)
    expect(info).toMatchObject({ pid: process.pid, host: hostname() })
    expect(lock.waited).toBe(false)
    await lock.release()
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('lets one holder in at a time; waiters learn that they waited', async () => {
    let inside = 0
    let maxInside = 0
    const order: boolean[] = []
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const lock = await acquireLock(path, options())
        inside++
        maxInside = Math.max(maxInside, inside)
        order.push(lock.waited)
        await sleep(5)
        inside--
        await lock.release()
      }),
    )
    expect(maxInside).toBe(1)
    expect(order.filter((w) => !w).length).toBeGreaterThanOrEqual(1)
    expect(order.filter((w) => w).length).toBeGreaterThanOrEqual(10)
  })

  it('takes over a lock whose process is dead', async () => {
    await writeFile(path, JSON.stringify({ pid: deadPid(), host: hostname(), started: Date.now(), token: 'x' }))
    const started = Date.now()
    const lock = await acquireLock(path, options())
    expect(Date.now() - started).toBeLessThan(1000)
    expect((await readLock(path))?.pid).toBe(process.pid)
    await lock.release()
  })

  it('takes over a lock older than the bound even if its pid is alive', async () => {
    await writeFile(path, JSON.stringify({ pid: process.pid, host: hostname(), started: Date.now() - 120_000, token: 'x' }))
    const lock = await acquireLock(path, options({ staleMs: 60_000 }))
    expect((await readLock(path))?.token).not.toBe('x')
    await lock.release()
  })

  it('waits for a live holder and gives up with ERR_LOCK_TIMEOUT', async () => {
    await writeFile(path, JSON.stringify({ pid: process.pid, host: hostname(), started: Date.now(), token: 'x' }))
    const error = await acquireLock(path, options({ timeoutMs: 200 })).catch((e: unknown) => e)
    expect(isJitsshError(error, 'ERR_LOCK_TIMEOUT')).toBe(true)
  })

  it('on another machine (shared home) only age counts, not the pid', async () => {
    await writeFile(path, JSON.stringify({ pid: deadPid(), host: 'some-other-host', started: Date.now(), token: 'x' }))
    const error = await acquireLock(path, options({ timeoutMs: 150 })).catch((e: unknown) => e)
    expect(isJitsshError(error, 'ERR_LOCK_TIMEOUT')).toBe(true)
  })

  it('treats an unreadable lock as being written, then as abandoned once old', async () => {
    await writeFile(path, '')
    const error = await acquireLock(path, options({ timeoutMs: 150 })).catch((e: unknown) => e)
    expect(isJitsshError(error, 'ERR_LOCK_TIMEOUT')).toBe(true)
    const old = new Date(Date.now() - 60_000)
    await utimes(path, old, old)
    const lock = await acquireLock(path, options())
    await lock.release()
  })

  it('does not remove a lock that is no longer its own', async () => {
    const lock = await acquireLock(path, options())
    const other = JSON.stringify({ pid: process.pid, host: hostname(), started: Date.now(), token: 'someone-else' })
    await writeFile(path, other)
    await lock.release()
    expect(await readFile(path, 'utf8')).toBe(other)
  })

  it('many waiters on one dead lock: exactly one holder at a time after the takeover', async () => {
    await writeFile(path, JSON.stringify({ pid: deadPid(), host: hostname(), started: Date.now(), token: 'dead' }))
    let inside = 0
    let maxInside = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await acquireLock(path, options())
        inside++
        maxInside = Math.max(maxInside, inside)
        await sleep(3)
        inside--
        await lock.release()
      }),
    )
    expect(maxInside).toBe(1)
  })
})
