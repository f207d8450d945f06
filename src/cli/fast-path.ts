// The ssh-gen fast path: ssh runs `Match exec ... ssh-gen` before every connection, and nearly every time
// a certificate on disk is still good. This reads the arguments and asks certificateIsFresh, the same check
// ssh-gen's slow path makes, with node: built-ins and a few of our own small modules, nothing from
// node_modules. It is built twice: as ES modules for src/cli/entry.ts, and bundled into one CommonJS file
// (dist/fast-path.cjs, see the build script) for bin/jitssh-ssh-gen.cjs, because node starts a CommonJS
// entry point as fast as `node -e 0` and an ES-module one about 20% slower.
// host-spec.ts is the validator src/ssh/config.ts re-exports; imported directly to load as little as possible.
import { parseHostSpec } from '../ssh/host-spec.js'
import { parseJitsshEnv } from '../client/env.js'
import { certificateIsFresh } from '../client/files/cert-freshness.js'
import { jitsshPaths } from '../client/files/paths.js'

/**
 * `ssh-gen` arguments (after the command name) → true when the host's certificate is valid for longer than
 * the margin and its key is there. Anything unexpected (other flags, a bad host) → false: the full CLI decides.
 */
export function hasFreshCertificate(args: string[], env: Record<string, string | undefined>, home: string, nowMs: number): boolean {
  const jitsshEnv = parseJitsshEnv(env)
  // `jitssh ssh-config` and `doctor` resolve `ssh -G` to see where ssh would go: the exec must then succeed
  // without doing anything (no signing, no login, no network).
  if (jitsshEnv.routeCheck) return true
  let hostArg: string | undefined
  let login: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    // --ttl only shapes the next certificate: a fresh one on disk is fine whatever it says.
    if (name !== '--hostname' && name !== '--server' && name !== '--ttl' && name !== '--login') return false
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i]
    if (value === undefined) return false
    if (name === '--hostname') {
      if (hostArg !== undefined) return false
      hostArg = value
    }
    if (name === '--login') login = value
  }
  if (hostArg === undefined) return false
  let host: string
  try {
    host = parseHostSpec(hostArg, { allowPattern: false, allowPort: false }).host
  } catch {
    return false
  }
  try {
    // A certificate that does not name the login ssh will use is no good to this ssh: the full CLI says which are.
    return certificateIsFresh(jitsshPaths(env, home), host, nowMs, jitsshEnv.certMarginSeconds, login)
  } catch {
    return false // unreadable: the full CLI says why
  }
}
