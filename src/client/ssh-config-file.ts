// Writing the user's ssh config: follow a symlink to the real file, change nothing when the text would
// not change, keep a one-time backup of the original (FILE.jitssh-backup, never overwritten), keep the
// file's mode (0600 for a new file), and replace it atomically. ~/.ssh is created 0700 when missing.
import { constants, promises as fs } from 'node:fs'
import { dirname } from 'node:path'
import { readTextOrNull, writeFileAtomic } from './files.js'

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
 * Applies `transform` to the file's text and writes the result. `transform` throws on a garbled file,
 * before anything is written.
 */
export async function rewriteSshConfig(file: string, transform: (existing: string) => string): Promise<ConfigWriteResult> {
  const { target, text } = await readSshConfig(file)
  const next = transform(text ?? '')
  if (next === (text ?? '')) return { file: target, changed: false, created: false, backup: null }
  await fs.mkdir(dirname(target), { recursive: true, mode: 0o700 })
  let mode = 0o600
  let backup: string | null = null
  if (text !== null) {
    mode = (await fs.stat(target)).mode & 0o7777
    backup = `${target}${BACKUP_SUFFIX}`
    try {
      await fs.copyFile(target, backup, constants.COPYFILE_EXCL)
      await fs.chmod(backup, mode & 0o700 ? mode & 0o700 : 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      backup = null // the original from before the first change is already kept
    }
  }
  await writeFileAtomic(target, next, mode)
  return { file: target, changed: true, created: text === null, backup }
}
