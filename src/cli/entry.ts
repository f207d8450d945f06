// The CLI's entry point (bin/jitssh.js imports this). `ssh-gen` runs before every ssh connection, so it
// has a fast path: a certificate on disk valid for longer than the margin, with its key → exit 0 with no
// network and no heavy imports (none of commander, undici, ws, sshpk load). Everything else loads main.js.
import { accessSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { readValidBefore } from '../ssh/cert-validity.js'
// host-spec.ts is the validator src/ssh/config.ts re-exports; imported directly to load as little as possible.
import { parseHostSpec } from '../ssh/host-spec.js'
import { certMarginSeconds, certPaths, jitsshPaths } from '../client/paths.js'

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'ssh-gen' && hasFreshCertificate(argv.slice(1), process.env, homedir(), Date.now())) return 0
  const { main } = await import('./main.js')
  return main(argv)
}

/** The fast path's check. Anything unexpected (other flags, a bad host) → false: the full CLI decides. */
export function hasFreshCertificate(args: string[], env: Record<string, string | undefined>, home: string, nowMs: number): boolean {
  let hostArg: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (name !== '--hostname' && name !== '--server') return false
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i]
    if (value === undefined) return false
    if (name === '--hostname') {
      if (hostArg !== undefined) return false
      hostArg = value
    }
  }
  if (hostArg === undefined) return false
  let host: string
  try {
    host = parseHostSpec(hostArg, { allowPattern: false, allowPort: false }).host
  } catch {
    return false
  }
  const files = certPaths(jitsshPaths(env, home), host)
  try {
    const validBefore = readValidBefore(readFileSync(files.cert, 'utf8'))
    if (validBefore === null || validBefore * 1000 <= nowMs + certMarginSeconds(env) * 1000) return false
    accessSync(files.key)
    return true
  } catch {
    return false
  }
}
