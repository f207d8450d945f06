import { mkdirSync, statSync, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'
import { JitsshError } from '../../../shared/errors.js'
import { kernelFileSystemOf } from '../../config/kernel-paths.js'

const refuse = (problem: string): never => {
  throw new JitsshError('ERR_INVALID_CONFIG', problem)
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false })
  } catch (error) {
    return refuse(`cannot look at ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/**
 * Makes sure the database file can be opened where it is named: not under a kernel file system, not a
 * directory or a device, in a directory that exists or is created here (0700, each missing level once,
 * without recursion, so no path can make this loop). Errors say what is wrong with which path.
 */
export function prepareDatabasePath(file: string): void {
  const kernel = kernelFileSystemOf(file)
  if (kernel) refuse(`${file} is under ${kernel}, a kernel file system: choose a directory on disk (e.g. /var/lib/jitssh/jitssh.db)`)
  const existing = statOf(file)
  if (existing?.isDirectory()) refuse(`${file} is a directory: name a file in it (e.g. ${join(file, 'jitssh.db')})`)
  if (existing && !existing.isFile()) refuse(`${file} is not a regular file`)
  if (existing) return

  const missing: string[] = []
  for (let directory = dirname(file); ; directory = dirname(directory)) {
    const stat = statOf(directory)
    if (stat) {
      if (!stat.isDirectory()) refuse(`${directory} is not a directory, so ${file} cannot be created in it`)
      break
    }
    if (dirname(directory) === directory) refuse(`${directory} does not exist`)
    missing.unshift(directory)
  }
  for (const directory of missing) {
    try {
      mkdirSync(directory, { mode: 0o700 })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') refuse(`cannot create the directory ${directory} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
}
