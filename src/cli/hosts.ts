// jitssh hosts [--json] [--server URL]: the hosts you may reach now, as which logins, until when.
import type { Command } from 'commander'
import { apiClient } from '../client/api-client.js'
import { HOST_LIST_ANSWER } from '../client/person-answers.js'
import { jsonText, terminalSafeDeep } from '../client/terminal-text.js'
import type { ClientContext } from '../client/context.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { renderTable } from './table.js'

export interface HostsOptions {
  json?: boolean
  server?: string
}

export function registerHosts(program: Command, ctx: ClientContext, run: RunCommand<HostsOptions>): void {
  program
    .command('hosts')
    .description('list the hosts you may reach now through the bastion, as which logins, until when, and those you may request')
    .option('--json', 'print JSON (for scripts): {hosts}')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: HostsOptions) => {
      await run(ctx, options)
    })
}

export async function hostsCommand(ctx: ClientContext, options: HostsOptions): Promise<number> {
  const client = await apiClient(ctx, parseServerArg(options.server), 'person')
  const answer = await client.get(HOST_LIST_ANSWER, 'hosts')
  if (options.json === true) {
    ctx.stdout.write(`${jsonText(answer)}\n`)
    return 0
  }
  const list = terminalSafeDeep(answer)
  if (list.hosts.length === 0) {
    ctx.stderr.write(`No hosts of ${client.server} are open to you now (see: jitssh explain HOST).\n`)
    return 0
  }
  const timeZone = resolveTimeZone(ctx.env)
  ctx.stdout.write(renderTable(['HOST', 'LOGINS', 'UNTIL'], list.hosts.map((entry) => [
    entry.host,
    entry.status === 'not now' ? '-' : entry.logins.join(', '),
    entry.status === 'allowed' && entry.until !== null
      ? `${formatLocalTime(Date.parse(entry.until), timeZone)}${entry.grant ? ` (${entry.grant})` : ''}`
      : entry.status === 'on request' ? 'on request' : `not now: ${entry.reason ?? ''}`,
  ])))
  const requestable = list.hosts.filter((entry) => entry.status === 'on request')
  if (requestable.length > 0) ctx.stderr.write(`\nAsk for a host marked "on request" with, e.g.: ${requestable[0]!.request_command ?? 'jitssh request create --host HOST --duration 1h --reason "..."'}\n`)
  return 0
}
