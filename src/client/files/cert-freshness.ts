// Whether ssh-gen may keep the certificate it has for a host. One check for both of its paths: the fast
// path (src/cli/fast-path.ts, also bundled into dist/fast-path.cjs), which runs before every ssh
// connection, and the slow path (certificate-issue.ts), before and after it takes the host lock. So this
// file imports only node: built-ins and modules of ours that do the same.
import { accessSync, readFileSync } from 'node:fs'
import { readValidBefore } from '../../ssh/cert-validity.js'
import { certPaths, type JitsshPaths } from './paths.js'

/**
 * true when `certs/<host>-cert.pub` is valid for more than `marginSeconds` after `nowMs` and its key
 * `certs/<host>` exists. A missing or unreadable-as-a-certificate file is false; an error other than
 * ENOENT while reading it is thrown (the fast path treats it as false and leaves it to the full CLI).
 */
export function certificateIsFresh(paths: JitsshPaths, host: string, nowMs: number, marginSeconds: number): boolean {
  const files = certPaths(paths, host)
  let text: string
  try {
    text = readFileSync(files.cert, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  const validBefore = readValidBefore(text)
  if (validBefore === null || validBefore * 1000 <= nowMs + marginSeconds * 1000) return false
  try {
    accessSync(files.key)
    return true
  } catch {
    return false
  }
}
