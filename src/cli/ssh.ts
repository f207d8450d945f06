// jitssh ssh --hostname H [--port P] [--server URL] — the ProxyCommand. stdout carries SSH bytes only;
// every message is one line on stderr.
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { parseJitsshEnv } from '../client/env.js'
import { getDiscovery } from '../client/auth/discovery.js'
import { jitsshPaths } from '../client/files/paths.js'
import { resolveServer, withAccessToken } from '../client/auth/tokens.js'
import { openTunnel, runTunnel } from '../client/tunnel/tunnel.js'
import { extraCaFor } from '../client/trust.js'
import type { RunCommand } from './command.js'
import { parseHostArg, parsePortArg, parseServerArg } from './host-arg.js'

export interface SshOptions {
  hostname?: string
  port?: string
  server?: string
}

export function registerSsh(program: Command, ctx: ClientContext, run: RunCommand<SshOptions>): void {
  program
    .command('ssh')
    .description("carry an ssh connection through the jitssh server (ssh's ProxyCommand)")
    .option('--hostname <host>', 'the target host (%h)')
    .option('--port <port>', 'the target port (%p)', '22')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: SshOptions) => {
      await run(ctx, options)
    })
}

export async function sshCommand(ctx: ClientContext, options: SshOptions): Promise<number> {
  const spec = parseHostArg(options.hostname, { allowPattern: false, allowPort: false })
  const port = parsePortArg(options.port)
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, parseServerArg(options.server))
  if (server === null) throw new JitsshError('ERR_NOT_LOGGED_IN', 'not logged in', { hint: 'run: jitssh login --server https://access.example.com' })
  const discovery = await getDiscovery(ctx, paths, server)
  const { httpTimeoutMs: handshakeTimeoutMs, keepaliveMs } = parseJitsshEnv(ctx.env)
  const target = { host: spec.host, port }
  const ca = await extraCaFor(ctx.env, paths, discovery.jitssh.tunnel_endpoint)
  // No `login` option: a refused token is refreshed once, but never a login here (stdin/stdout belong to ssh).
  const ws = await withAccessToken(ctx, paths, server, {}, (token) =>
    openTunnel(ctx, { tunnelEndpoint: discovery.jitssh.tunnel_endpoint, ...target, token, ca }, { handshakeTimeoutMs }))
  await runTunnel(ctx, ws, target, {
    stdin: ctx.stdin,
    stdout: ctx.stdout,
    keepaliveMs,
    handshakeTimeoutMs,
  })
  return 0
}
