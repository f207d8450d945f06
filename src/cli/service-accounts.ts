// jitssh service-accounts ls [--json] | disable NAME [--reason TEXT] | enable NAME | revoke NAME [--reason TEXT]   [--server URL]
import type { Command } from 'commander'
import { REVOKE_ANSWER, SERVICE_ACCOUNT_LIST_ANSWER, USER_ACCESS_ANSWER } from '../client/admin/admin-answers.js'
import { adminClient } from '../client/admin/api.js'
import { jsonText, terminalSafeDeep } from '../client/terminal-text.js'
import type { ClientContext } from '../client/context.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { renderTable } from './table.js'

interface CommonOptions {
  json?: boolean
  server?: string
}

export type ServiceAccountsOptions =
  | ({ action: 'ls' } & CommonOptions)
  | ({ action: 'disable' | 'enable' | 'revoke'; name: string; reason?: string } & CommonOptions)

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`

export function registerServiceAccounts(program: Command, ctx: ClientContext, run: RunCommand<ServiceAccountsOptions>): void {
  const accounts = program.command('service-accounts').description('list, disable, enable and revoke service accounts (admins only)')
  const common = (command: Command): Command =>
    command.option('--json', 'print JSON (for scripts)').option('--server <url>', 'the jitssh server (default: the last one logged in to)')
  common(accounts.command('ls').description('the configured service accounts: scope, trusts, clients, whether disabled, active sessions')).action(
    async (options: CommonOptions) => {
      await run(ctx, { action: 'ls', ...options })
    },
  )
  const change = (action: 'disable' | 'enable' | 'revoke', description: string): void => {
    const command = common(accounts.command(action).description(description).argument('<name>', 'the service account (as in the config)'))
    if (action !== 'enable') command.option('--reason <text>', 'why, for the audit log')
    command.action(async (name: string, options: CommonOptions & { reason?: string }) => {
      await run(ctx, { action, name, ...options })
    })
  }
  change('disable', 'stop a service account: its sessions end now, tunnels close, certificates go on the KRL; it cannot authenticate until enabled')
  change('enable', 'let a disabled service account authenticate again')
  change('revoke', 'end every session of a service account now (it may authenticate again)')
}

export async function serviceAccountsCommand(ctx: ClientContext, options: ServiceAccountsOptions): Promise<number> {
  const client = await adminClient(ctx, parseServerArg(options.server))
  if (options.action === 'ls') {
    const answer = await client.get(SERVICE_ACCOUNT_LIST_ANSWER, 'service-accounts')
    if (options.json === true) {
      ctx.stdout.write(`${jsonText(answer)}\n`)
      return 0
    }
    const list = terminalSafeDeep(answer)
    if (list.service_accounts.length === 0) {
      ctx.stderr.write(`No service accounts are configured on ${client.server}.\n`)
      return 0
    }
    ctx.stdout.write(renderTable(['NAME', 'OWNER', 'STATE', 'HOSTS', 'LOGINS', 'MAX TTL', 'AUTHENTICATES WITH', 'SESSIONS'], list.service_accounts.map((account) => [
      account.name,
      account.owner,
      account.disabled_in_config ? 'disabled (config)' : account.disabled_by_admin ? `disabled by ${account.disabled_by_admin.disabled_by ?? 'an admin'}` : 'enabled',
      account.hosts.join(','),
      account.principals.join(','),
      `${account.max_ttl_seconds}s`,
      [...account.trusts.map((trust) => `trust ${trust.name}`), ...account.clients.map((c) => `client ${c.id}`)].join(', ') || '-',
      String(account.active_sessions),
    ])))
    return 0
  }
  const body = { name: options.name.trim(), ...(options.reason !== undefined ? { reason: options.reason } : {}) }
  if (options.action === 'revoke') {
    const answer = await client.post(REVOKE_ANSWER, 'service-accounts/revoke', body)
    const result = terminalSafeDeep(answer)
    if (options.json === true) ctx.stdout.write(`${jsonText(answer)}\n`)
    else ctx.stdout.write(`Revoked ${plural(result.revoked_sessions.length, 'session')} of ${result.user ?? body.name}; closed ${plural(result.tunnels_closed, 'live tunnel')}.\n`)
    return 0
  }
  const answer = await client.post(USER_ACCESS_ANSWER, `service-accounts/${options.action}`, body)
  const result = terminalSafeDeep(answer)
  if (options.json === true) ctx.stdout.write(`${jsonText(answer)}\n`)
  else if (!result.changed) ctx.stdout.write(`${result.user} was already ${options.action}d.\n`)
  else if (options.action === 'enable') ctx.stdout.write(`Enabled ${result.user}: it can authenticate again.\n`)
  else ctx.stdout.write(`Disabled ${result.user}: revoked ${plural(result.revoked_sessions.length, 'session')}; closed ${plural(result.tunnels_closed, 'live tunnel')}.\n`)
  return 0
}
