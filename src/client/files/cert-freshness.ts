// Whether ssh-gen may keep the certificate it has for a host. One check for both of its paths: the fast
// path (src/cli/fast-path.ts, also bundled into dist/fast-path.cjs), which runs before every ssh
// connection, and the slow path (certificate-issue.ts), before and after it takes the host lock. So this
// file imports only node: built-ins and modules of ours that do the same.
import { accessSync, readFileSync } from 'node:fs'
import { readValidity } from '../../ssh/cert-validity.js'
import { certPaths, type JitsshPaths } from './paths.js'

/**
 * true when `certs/<host>-cert.pub` is valid for more than `marginSeconds` after `nowMs`, names `login` among
 * its principals (when a login is given: the one ssh will log in as), and its key `certs/<host>` exists. A
 * missing or unreadable-as-a-certificate file is false; an error other than ENOENT while reading it is thrown
 * (the fast path treats it as false and leaves it to the full CLI, which then says what is wrong).
 */
export function certificateIsFresh(paths: JitsshPaths, host: string, nowMs: number, marginSeconds: number, login?: string): boolean {
  const files = certPaths(paths, host)
  let text: string
  try {
    text = readFileSync(files.cert, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  const validity = readValidity(text)
  if (validity === null || validity.validBefore * 1000 <= nowMs + marginSeconds * 1000) return false
  if (login !== undefined && !principalAllows(validity.principals, login, host)) return false
  try {
    accessSync(files.key)
    return true
  } catch {
    return false
  }
}

/** Whether a certificate with these principals lets one log in as `login` (host-bound principals: `login@host`). */
export function principalAllows(principals: readonly string[], login: string, host: string): boolean {
  return principals.includes(login) || principals.includes(`${login}@${host}`)
}
