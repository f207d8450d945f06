// jitssh ssh-gen --hostname H [--server URL] — the slow path (src/cli/entry.ts has the fast one).
// Runs under ssh's `Match exec`: stdin is /dev/null, stdout is discarded, stderr is the person's terminal.
import type { Command } from 'commander'
import { parseDuration } from '../shared/duration.js'
import { JitsshError } from '../shared/errors.js'
import { ensureCertificate } from '../client/certificate-issue.js'
import type { ClientContext } from '../client/context.js'
import { readConfig } from '../client/files/config-store.js'
import { jitsshPaths, type JitsshPaths } from '../client/files/paths.js'
import { noteFailure, sshProcess } from '../client/files/failure-note.js'
import { certificateAllows, certificatePrincipals, checkableLogin, explainLogin, loginNotGranted } from '../client/login-check.js'
import { resolveServer } from '../client/auth/tokens.js'
import type { RunCommand } from './command.js'
import { parseHostArg, parseServerArg } from './host-arg.js'
import { createUi } from './output.js'

export interface SshGenOptions {
  hostname?: string
  server?: string
  ttl?: string
  /** The login ssh will use (%r): a certificate that does not name it is reported with the logins that would work. */
  login?: string
}

export function registerSshGen(program: Command, ctx: ClientContext, run: RunCommand<SshGenOptions>): void {
  program
    .command('ssh-gen')
    .description('make sure ~/.jitssh/certs holds a valid certificate for the host (run by ssh via Match exec)')
    .option('--hostname <host>', 'the host name ssh connects to (%h)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .option('--ttl <duration>', 'a shorter certificate lifetime to ask for, e.g. 15m (the policy caps it)')
    .option('--login <name>', 'the login ssh will use (%r): if the certificate does not allow it, say which logins do')
    .action(async (options: SshGenOptions) => {
      await run(ctx, options)
    })
}

export async function sshGenCommand(ctx: ClientContext, options: SshGenOptions): Promise<number> {
  const spec = parseHostArg(options.hostname, { allowPattern: false, allowPort: false })
  const ttlSeconds = options.ttl === undefined ? undefined : parseTtlArg(options.ttl)
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  try {
    await issueFor(ctx, paths, spec.host, options, ttlSeconds)
    return 0
  } catch (error) {
    // This line is the explanation of the connection's failure: the ProxyCommand of the same ssh, failing the
    // same way a moment later, stays silent (one jitssh line per failure).
    if (error instanceof JitsshError) await noteFailure(paths, spec.host, error.code, sshProcess(ctx.ppid, ctx.platform), ctx.now())
    throw error
  }
}

async function issueFor(ctx: ClientContext, paths: JitsshPaths, host: string, options: SshGenOptions, ttlSeconds: number | undefined): Promise<void> {
  const server = await resolveServer(paths, parseServerArg(options.server))
  if (server === null) {
    throw new JitsshError('ERR_NOT_LOGGED_IN', 'no jitssh server configured', { hint: 'run: jitssh login --server https://access.example.com' })
  }
  // A login needs someone to answer it: without a terminal (VS Code's `ssh -G`, scripts, cron) an ended
  // session is one line and a non-zero exit at once, never a device code nobody sees.
  // A service account (jitssh login --github-actions, ...) authenticates again by itself: never a browser here.
  const automation = (await readConfig(paths)).servers[server]?.automation !== undefined
  const issue = (force: boolean) => ensureCertificate(ctx, paths, server, host, {
    ui: createUi(ctx), login: ctx.isTTY && !automation ? {} : null, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}), ...(force ? { force } : {}),
  })
  const outcome = await issue(false)
  const login = checkableLogin(options.login)
  if (login === undefined || certificateAllows(paths, host, login)) return
  // The certificate does not name the login ssh will use. Perhaps the policy grants it now: ask, and if so,
  // a new certificate; otherwise say which logins work, rather than let sshd answer "Permission denied".
  const answer = await explainLogin(ctx, paths, server, host, login)
  if (answer.allowed && outcome !== 'issued') {
    await issue(true)
    if (certificateAllows(paths, host, login)) return
  }
  throw loginNotGranted(host, login, certificatePrincipals(paths, host), answer.allowed ? null : answer.request_command)
}

/** `--ttl 15m` → seconds, within what the server accepts (60 s to 7 days). */
export function parseTtlArg(text: string): number {
  const ms = parseDuration(text)
  if (ms === undefined || ms < 60_000 || ms > 7 * 86_400_000 || ms % 1000 !== 0) {
    throw new JitsshError('ERR_USAGE', `--ttl: expected a duration from 1m to 7d like 15m, not ${JSON.stringify(text.slice(0, 20))}`)
  }
  return ms / 1000
}
