// Where jitssh keeps its files (DESIGN.md "Files on the client"). Imports only node: built-ins, because
// the ssh-gen fast path (src/cli/entry.ts) uses it.
import { join } from 'node:path'

export interface JitsshPaths {
  /** ~/.jitssh, or JITSSH_HOME. */
  home: string
  config: string
  credentials: string
  certs: string
  tokens: string
  locks: string
  knownHosts: string
}

export function jitsshPaths(env: Record<string, string | undefined>, homedir: string): JitsshPaths {
  const override = env.JITSSH_HOME
  const home = override !== undefined && override !== '' ? override : join(homedir, '.jitssh')
  return {
    home,
    config: join(home, 'config.json'),
    credentials: join(home, 'credentials.json'),
    certs: join(home, 'certs'),
    tokens: join(home, 'tokens'),
    locks: join(home, 'locks'),
    knownHosts: join(home, 'known_hosts'),
  }
}

/** The private key and certificate of one host: `certs/<host>` and `certs/<host>-cert.pub`. */
export function certPaths(paths: JitsshPaths, host: string): { key: string; cert: string } {
  return { key: join(paths.certs, host), cert: join(paths.certs, `${host}-cert.pub`) }
}

/** Seconds a certificate must still be valid for ssh-gen to reuse it (JITSSH_CERT_MARGIN overrides 60). */
export function certMarginSeconds(env: Record<string, string | undefined>): number {
  const raw = env.JITSSH_CERT_MARGIN
  if (raw !== undefined && /^\d{1,6}$/.test(raw)) return Number(raw)
  return 60
}
