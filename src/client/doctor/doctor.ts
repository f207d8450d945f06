import { readFileSync } from 'node:fs'
import { join } from 'node:path'
// `jitssh doctor [host]`: the checks in order, each on what the earlier ones found (no server: nothing that
// asks it; no host: only the machine-wide ones). The last check is the real ssh, and its host key goes back into
// the bastion check's line, so that the bastion's answer (banner, host certificate) reads as one.
import { fingerprint, parsePublicKey } from '../../ssh/keys.js'
import { resolveServer } from '../auth/tokens.js'
import type { ClientContext } from '../context.js'
import { jitsshPaths } from '../files/paths.js'
import { resolveSshRoute, type SshRoute } from '../ssh-config/route-check.js'
import { buildReport, fail, skip, type CheckResult, type DoctorReport } from './report.js'
import { checkAgent, checkCertificate, checkKnownHosts, checkOpenSsh, checkRoute } from './local-checks.js'
import { checkBastion, checkClock, checkPolicy, checkServer, checkSession, reachTarget } from './server-checks.js'
import { trySsh } from './ssh-trial.js'
import { findManagedBlocks } from '../../ssh/config.js'
import { launcherProblems } from '../ssh-config/launcher.js'

export interface DoctorOptions {
  /** The server (--server), else the remembered default. */
  server?: string
  /** The host as ssh is given it: `host` or `user@host`. */
  target?: { host: string; user?: string }
  /** The ssh config file ssh is run with (-F); undefined: ssh's own default files. */
  configFile?: string
  /** How the certificates directory appears in the ssh config (`~/.jitssh/certs` or absolute). */
  certsDirInConfig: string
}

export async function runDoctor(ctx: ClientContext, options: DoctorOptions): Promise<DoctorReport> {
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, options.server)
  const host = options.target?.host ?? null
  const sshTarget = options.target === undefined ? null : `${options.target.user !== undefined ? `${options.target.user}@` : ''}${options.target.host}`
  const results: CheckResult[] = []
  const needsHost = 'no host given (jitssh doctor HOST checks the path to one)'

  // Machine-wide, and where ssh would go: these need no server.
  results.push(await checkOpenSsh(ctx))
  let route: SshRoute | null = null
  if (host !== null && sshTarget !== null && server !== null) {
    const resolved = await resolveSshRoute(sshTarget, { env: ctx.env, ...(options.configFile !== undefined ? { configFile: options.configFile } : {}), cwd: ctx.cwd })
    if (resolved.kind === 'ok') {
      route = resolved.route
      // The block runs the launcher, whose recorded jitssh may be gone (a Node upgrade, a reinstall elsewhere):
      // the cause, before what it leads to (ssh -G then finds ssh-gen failing, and no certificate).
      results.push(launcherCheck(ctx, options.configFile, host) ?? checkRoute(route, server, host, options.certsDirInConfig))
    } else {
      results.push(fail('route', 'route.unresolved', resolved.kind === 'no-ssh' ? 'no ssh on PATH' : `ssh -G ${sshTarget} failed: ${resolved.message}`, 'fix the ssh config file ssh names'))
    }
  }
  const login = route?.user ?? options.target?.user ?? null

  if (server === null) {
    results.push(fail('server', 'server.none', 'no jitssh server configured', 'jitssh login --server https://access.example.com'))
    return buildReport({ server, host, login }, results)
  }
  const reached = await checkServer(ctx, paths, server)
  results.push(reached.result)
  const { discovery } = reached
  if (discovery === null) {
    for (const id of ['session', 'clock', 'policy', 'bastion', 'ssh'] as const) results.push(skip(id, 'the server did not answer'))
    pushLocal(ctx, results, paths, server, null, host, login, route)
    results.push(await checkAgent(ctx, route))
    return buildReport({ server, host, login }, results)
  }
  const session = await checkSession(ctx, paths, server, discovery)
  results.push(session.result)
  results.push(checkClock(session.clock ?? reached.clock))
  pushLocal(ctx, results, paths, server, discovery, host, login, route)
  results.push(await checkAgent(ctx, route))

  if (host === null || route === null || login === null) {
    for (const id of ['route', 'certificate', 'policy', 'bastion', 'ssh'] as const) if (!results.some((r) => r.id === id)) results.push(skip(id, needsHost))
    return buildReport({ server, host, login }, results)
  }
  if (session.token === null) {
    for (const id of ['policy', 'bastion'] as const) results.push(skip(id, 'needs a valid session (see above)'))
  } else {
    results.push(await checkPolicy(ctx, paths, server, host, login))
  }
  const port = Number(route.port) || 22
  const tunnel = session.token === null ? null : await reachTarget(ctx, paths, server, discovery, route.hostname, port)
  const trial = await trySsh(ctx, sshTarget!, host, login, options.configFile)
  if (tunnel !== null) results.push(checkBastion(route.hostname, port, tunnel, trial.hostKey, hostCaFingerprint(discovery.jitssh.host_ca_public_key)))
  results.push(trial.result)
  return buildReport({ server, host, login }, results)
}

function pushLocal(
  ctx: ClientContext,
  results: CheckResult[],
  paths: ReturnType<typeof jitsshPaths>,
  server: string,
  discovery: Parameters<typeof checkCertificate>[4],
  host: string | null,
  login: string | null,
  route: SshRoute | null,
): void {
  if (host !== null && login !== null) results.push(checkCertificate(ctx, paths, host, login, discovery))
  results.push(checkKnownHosts(ctx, paths, server, discovery, route))
}

function hostCaFingerprint(line: string): string | null {
  try {
    return fingerprint(parsePublicKey(line))
  } catch {
    return null
  }
}

/**
 * The first failing launcher problem of the jitssh block for `host` in the ssh config file (`configFile`, else
 * ~/.ssh/config), as the route check's failure; undefined when there is none (or no such block to read).
 */
function launcherCheck(ctx: ClientContext, configFile: string | undefined, host: string): CheckResult | undefined {
  let text: string
  try {
    text = readFileSync(configFile ?? join(ctx.homedir, '.ssh', 'config'), 'utf8')
  } catch {
    return undefined
  }
  const lines = text.split('\n')
  const block = findManagedBlocks(text).find((found) => found.hostPattern === host.toLowerCase())
  if (block === undefined) return undefined
  const problem = launcherProblems(lines.slice(block.startLine, block.endLine + 1).join('\n'), { platform: ctx.platform, env: ctx.env })
    .find((found) => found.code === 'ERR_LAUNCHER_STALE' || found.code === 'ERR_LAUNCHER_MISSING')
  return problem === undefined ? undefined : fail('route', 'route.launcher', problem.message, problem.fix)
}
