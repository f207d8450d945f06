// Writing the user's ssh config: follow a symlink to the real file, change nothing when the text would
// not change, keep a one-time backup of the original (FILE.jitssh-backup, never overwritten), keep the
// file's mode (0600 for a new file), and replace it atomically. ~/.ssh is created 0700 when missing.
import { constants, promises as fs } from 'node:fs'
import { dirname } from 'node:path'
import { readTextOrNull, writeFileAtomic } from '../files/atomic-files.js'

export interface ConfigWriteResult {
  file: string
  changed: boolean
  created: boolean
  /** Set when this run made the backup. */
  backup: string | null
}

export const BACKUP_SUFFIX = '.jitssh-backup'

export async function realTarget(file: string): Promise<string> {
  try {
    return await fs.realpath(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return file
    throw error
  }
}

/** Reads the config (empty when missing). */
export async function readSshConfig(file: string): Promise<{ target: string; text: string | null }> {
  const target = await realTarget(file)
  return { target, text: await readTextOrNull(target) }
}

/**
 * Applies `transform` to the file's text and writes the result. `transform` throws on a garbled file, and
 * `verify` (given the complete new file under a temp name) on a result ssh would reject, before anything
 * is written: no backup, no change.
 */
export async function rewriteSshConfig(
  file: string,
  transform: (existing: string) => string,
  verify?: (candidatePath: string, existingPath: string | null) => Promise<void>,
): Promise<ConfigWriteResult> {
  const { target, text } = await readSshConfig(file)
  const next = transform(text ?? '')
  if (next === (text ?? '')) return { file: target, changed: false, created: false, backup: null }
  await fs.mkdir(dirname(target), { recursive: true, mode: 0o700 })
  const mode = text === null ? 0o600 : (await fs.stat(target)).mode & 0o7777
  let backup: string | null = null
  await writeFileAtomic(target, next, mode, async (candidate) => {
    await verify?.(candidate, text === null ? null : target)
    if (text !== null) backup = await keepBackup(target, mode)
  })
  return { file: target, changed: true, created: text === null, backup }
}

/** Copies the original beside it once (FILE.jitssh-backup, never overwritten); null when one is kept already. */
async function keepBackup(target: string, mode: number): Promise<string | null> {
  const backup = `${target}${BACKUP_SUFFIX}`
  try {
    await fs.copyFile(target, backup, constants.COPYFILE_EXCL)
    await fs.chmod(backup, mode & 0o700 ? mode & 0o700 : 0o600)
    return backup
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return null // the original from before the first change is already kept
  }
}
