// jitssh agent --out DIR [--hostname H]... [--oneshot] [--ssh-config] [--server URL]
// Keeps a key and a certificate per host fresh in DIR for long jobs (see src/client/agent/agent.ts).
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import { runAgent } from '../client/agent/agent.js'
import { checkedHost } from '../client/agent/agent-files.js'
import type { ClientContext } from '../client/context.js'
import { jitsshPaths } from '../client/files/paths.js'
import { resolveServer } from '../client/auth/tokens.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { createUi } from './output.js'

export interface AgentCommandOptions {
  out?: string
  hostname?: string[]
  oneshot?: boolean
  sshConfig?: boolean
  server?: string
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

export function registerAgent(program: Command, ctx: ClientContext, run: RunCommand<AgentCommandOptions>): void {
  program
    .command('agent')
    .description('keep a key and short-lived certificates fresh in a directory for long jobs (e.g. Ansible); never opens a browser')
    .option('--out <dir>', 'the directory for the key, the certificates (HOST-cert.pub), known_hosts and ssh_config')
    .option('--hostname <host>', 'a host to keep a certificate for (repeat it; default: every host you may reach now)', collect)
    .option('--oneshot', 'write the files once and exit')
    .option('--ssh-config', 'also write DIR/ssh_config, for ssh -F DIR/ssh_config HOST')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: AgentCommandOptions) => {
      await run(ctx, options)
    })
}

export async function agentCommand(ctx: ClientContext, options: AgentCommandOptions): Promise<number> {
  if (options.out === undefined || options.out === '') throw new JitsshError('ERR_USAGE', 'missing --out DIR', { hint: 'e.g. jitssh agent --out ./jitssh-certs --ssh-config' })
  const hosts = options.hostname === undefined ? undefined : [...new Set(options.hostname.map(checkedHost))]
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, parseServerArg(options.server))
  if (server === null) throw new JitsshError('ERR_NOT_LOGGED_IN', 'not logged in to a jitssh server', { hint: 'run: jitssh login --server URL' })
  const ui = createUi(ctx)
  await runAgent(ctx, paths, {
    server,
    dir: resolve(ctx.cwd, options.out),
    hosts,
    oneshot: options.oneshot === true,
    sshConfig: options.sshConfig === true,
    program: ctx.scriptPath === null ? [ctx.execPath] : [ctx.execPath, ctx.scriptPath], // null: the standalone executable
    ui,
  })
  if (ctx.signal.aborted) ui.info('jitssh agent: stopped; the certificates on disk stay valid until they expire')
  return 0
}
