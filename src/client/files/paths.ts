// Where jitssh keeps its files (DESIGN.md "Files on the client"). Imports only node: built-ins and env.ts,
// because the ssh-gen fast path (src/cli/fast-path.ts) uses it.
import { join } from 'node:path'
import { parseJitsshEnv } from '../env.js'

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
  const home = parseJitsshEnv(env).home ?? join(homedir, '.jitssh')
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
