import { sep } from 'node:path'

/**
 * Kernel file systems: no file the config names (a database, a key, a checkpoint file) belongs there, and
 * Node's recursive mkdir never returns under /proc (each level answers ENOENT, so it retries the parent forever).
 */
export const KERNEL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'] as const

/** The kernel file system `path` (absolute, resolved) is under, if any. */
export function kernelFileSystemOf(path: string): string | undefined {
  return KERNEL_FILE_SYSTEMS.find((root) => path === root || path.startsWith(`${root}${sep}`))
}
