// jitssh ssh --hostname H [--port P] [--server URL] — the ProxyCommand. stdout carries SSH bytes only;
// every message is one line on stderr.
import type { Command } from 'commander'
import { exitCodeFor, JitsshError } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { parseJitsshEnv } from '../client/env.js'
import { getDiscovery } from '../client/auth/discovery.js'
import { jitsshPaths, type JitsshPaths } from '../client/files/paths.js'
import { explainedAlready, sshProcess } from '../client/files/failure-note.js'
import { formatError } from './output.js'
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
  let opened = false
  try {
    await carry(ctx, paths, spec.host, port, options, () => (opened = true))
    return 0
  } catch (error) {
    // stderr is ssh's terminal: one line per failure, and none when ssh-gen already said it for this ssh.
    const sshPid = sshProcess(ctx.ppid, ctx.platform)
    const said = error instanceof JitsshError && (await explainedAlready(paths, spec.host, error.code, sshPid, ctx.now()))
    if (!said) {
      const line = formatError(error, parseJitsshEnv(ctx.env).debug)
      // In a session ssh holds the terminal in raw mode: "\n" alone would not return the carriage, and the
      // message would start mid-line after the remote prompt. So on a terminal: "\r\n" line ends, and a fresh
      // line first when the session was open.
      ctx.stderr.write(ctx.isTTY ? `${opened ? '\r\n' : ''}${line.replace(/\r?\n/g, '\r\n')}` : line)
    }
    // Before any SSH byte: answer ssh with an identification line and end, so that it stops without its
    // own misleading lines ("kex_exchange_identification: Connection closed by remote host"). Only under ssh.
    if (!opened && sshPid !== null) await refuseBanner(ctx)
    return exitCodeFor(error)
  }
}

async function carry(ctx: ClientContext, paths: JitsshPaths, host: string, port: number, options: SshOptions, onOpen: () => void): Promise<void> {
  const server = await resolveServer(paths, parseServerArg(options.server))
  if (server === null) throw new JitsshError('ERR_NOT_LOGGED_IN', 'not logged in', { hint: 'run: jitssh login --server https://access.example.com' })
  const discovery = await getDiscovery(ctx, paths, server)
  const { httpTimeoutMs: handshakeTimeoutMs, keepaliveMs } = parseJitsshEnv(ctx.env)
  const target = { host, port }
  const ca = await extraCaFor(ctx.env, paths, discovery.jitssh.tunnel_endpoint)
  // No `login` option: a refused token is refreshed once, but never a login here (stdin/stdout belong to ssh).
  const tunnel = await withAccessToken(ctx, paths, server, {}, (token) =>
    openTunnel(ctx, { tunnelEndpoint: discovery.jitssh.tunnel_endpoint, ...target, token, ca }, { handshakeTimeoutMs }))
  onOpen()
  await runTunnel(ctx, tunnel, target, {
    stdin: ctx.stdin,
    stdout: ctx.stdout,
    keepaliveMs,
    handshakeTimeoutMs,
  })
}

/** An SSH identification line, then the end once ssh has sent its own (or after a second). */
async function refuseBanner(ctx: ClientContext): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      ctx.stdin.off('data', done)
      ctx.stdin.off('end', done)
      ctx.stdin.off('error', done)
      resolve()
    }
    const timer = setTimeout(done, 1_000)
    ctx.stdin.once('data', done)
    ctx.stdin.once('end', done)
    ctx.stdin.once('error', done)
    ctx.stdout.write('SSH-2.0-jitssh-refused\r\n')
  })
  ctx.stdin.destroy()
  await new Promise<void>((resolve) => ctx.stdout.end(resolve))
}
