import { randomBytes } from 'node:crypto'
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

/**
 * Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part: temp file in the
 * same directory, fsync, rename. The file gets exactly `mode`, whatever the umask.
 */
export function writeFileAtomically(path: string, bytes: Buffer, mode = 0o644): void {
  const target = resolve(path)
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(temp, 'wx', mode)
  try {
    try {
      writeSync(fd, bytes)
      fchmodSync(fd, mode)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, target)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}
