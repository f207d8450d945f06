// jitssh ssh-gen --hostname H [--server URL] — the slow path (src/cli/entry.ts has the fast one).
// Runs under ssh's `Match exec`: stdin is /dev/null, stdout is discarded, stderr is the person's terminal.
import type { Command } from 'commander'
import { parseDuration } from '../shared/duration.js'
import { JitsshError } from '../shared/errors.js'
import { ensureCertificate } from '../client/certificate-issue.js'
import type { ClientContext } from '../client/context.js'
import { jitsshPaths } from '../client/files/paths.js'
import { resolveServer } from '../client/auth/tokens.js'
import type { RunCommand } from './command.js'
import { parseHostArg, parseServerArg } from './host-arg.js'
import { createUi } from './output.js'

export interface SshGenOptions {
  hostname?: string
  server?: string
  ttl?: string
}

export function registerSshGen(program: Command, ctx: ClientContext, run: RunCommand<SshGenOptions>): void {
  program
    .command('ssh-gen')
    .description('make sure ~/.jitssh/certs holds a valid certificate for the host (run by ssh via Match exec)')
    .option('--hostname <host>', 'the host name ssh connects to (%h)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .option('--ttl <duration>', 'a shorter certificate lifetime to ask for, e.g. 15m (the policy caps it)')
    .action(async (options: SshGenOptions) => {
      await run(ctx, options)
    })
}

export async function sshGenCommand(ctx: ClientContext, options: SshGenOptions): Promise<number> {
  const spec = parseHostArg(options.hostname, { allowPattern: false, allowPort: false })
  const ttlSeconds = options.ttl === undefined ? undefined : parseTtlArg(options.ttl)
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, parseServerArg(options.server))
  if (server === null) {
    throw new JitsshError('ERR_NOT_LOGGED_IN', 'no jitssh server configured', { hint: 'run: jitssh login --server https://access.example.com' })
  }
  // A login needs someone to answer it: without a terminal (VS Code's `ssh -G`, scripts, cron) an ended
  // session is one line and a non-zero exit at once, never a device code nobody sees.
  const login = ctx.isTTY ? {} : null
  await ensureCertificate(ctx, paths, server, spec.host, { ui: createUi(ctx), login, ...(ttlSeconds !== undefined ? { ttlSeconds } : {}) })
  return 0
}

/** `--ttl 15m` → seconds, within what the server accepts (60 s to 7 days). */
export function parseTtlArg(text: string): number {
  const ms = parseDuration(text)
  if (ms === undefined || ms < 60_000 || ms > 7 * 86_400_000 || ms % 1000 !== 0) {
    throw new JitsshError('ERR_USAGE', `--ttl: expected a duration from 1m to 7d like 15m, not ${JSON.stringify(text.slice(0, 20))}`)
  }
  return ms / 1000
}
