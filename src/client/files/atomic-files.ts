// File helpers: private directories, atomic writes (temp file in the same directory + fsync + rename),
// and reads that treat "missing" as null.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { basename, dirname, join } from 'node:path'

export async function ensurePrivateDir(path: string): Promise<void> {
  await fs.mkdir(path, { recursive: true, mode: 0o700 })
}

/**
 * Writes `data` to `path` so that readers see the old or the new content, never a mix: a temp file beside `path`, syncs it and renames it over `path`. `beforeRename` may look at
 * the complete temp file first; when it throws, the temp file goes and `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, beforeRename?: (tempPath: string) => Promise<void>): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await fs.open(temp, 'wx', mode)
  try {
    await handle.writeFile(data)
    await handle.chmod(mode) // the umask may have narrowed or (for 'wx' with mode) kept it; make it exact
    await handle.sync()
  } catch (error) {
    await handle.close().catch(() => undefined)
    await fs.rm(temp, { force: true })
    throw error
  }
  await handle.close()
  try {
    await beforeRename?.(temp)
    await fs.rename(temp, path)
  } catch (error) {
    await fs.rm(temp, { force: true })
    throw error
  }
  await syncDir(dir)
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  try {
    const handle = await fs.open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // best effort: some file systems refuse fsync on a directory
  }
}

export async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/** Parsed JSON, or null when the file is missing or not JSON (a half-written or hand-edited file). */
export async function readJsonOrNull<T>(path: string): Promise<T | null> {
  const text = await readTextOrNull(path)
  if (text === null) return null
  try {
    return JSON.parse(text) as T
  } catch {
    return null
  }
}

export async function removeFile(path: string): Promise<boolean> {
  try {
    await fs.unlink(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}
