// jitssh explain HOST [--login L] [--json] [--server URL]: why you can (or cannot) reach a host now.
import type { Command } from 'commander'
import { apiClient } from '../client/api-client.js'
import { EXPLANATION_ANSWER } from '../client/person-answers.js'
import { jsonText, terminalSafeDeep } from '../client/terminal-text.js'
import type { ClientContext } from '../client/context.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import type { RunCommand } from './command.js'
import { parseHostArg, parseServerArg } from './host-arg.js'
import { renderTable } from './table.js'

export interface ExplainOptions {
  host: string
  login?: string
  json?: boolean
  server?: string
}

export function registerExplain(program: Command, ctx: ClientContext, run: RunCommand<ExplainOptions>): void {
  program
    .command('explain')
    .description('say why you can or cannot reach a host now: the policy\'s answer, and each of your rules\'')
    .argument('<host>', 'the host name (as ssh connects to it)')
    .option('--login <name>', 'the account you want to log in as')
    .option('--json', 'print JSON (for scripts)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (host: string, options: Omit<ExplainOptions, 'host'>) => {
      await run(ctx, { host, ...options })
    })
}

/** Exit 0 when the host is open to you now, 1 when not. */
export async function explainCommand(ctx: ClientContext, options: ExplainOptions): Promise<number> {
  const host = parseHostArg(options.host, { allowPattern: false, allowPort: false }).host.toLowerCase()
  const client = await apiClient(ctx, parseServerArg(options.server), 'person')
  const raw = await client.get(EXPLANATION_ANSWER, 'policy/explain', { host, login: options.login })
  if (options.json === true) {
    ctx.stdout.write(`${jsonText(raw)}\n`)
    return raw.allowed ? 0 : 1
  }
  const answer = terminalSafeDeep(raw)
  const timeZone = resolveTimeZone(ctx.env)
  const lines = answer.allowed
    ? [`${host}: allowed by rule "${answer.rule}"${answer.grant ? ` (access request ${answer.grant})` : ''} as ${answer.logins?.join(', ')}, until ${answer.until ? formatLocalTime(Date.parse(answer.until), timeZone) : '-'}.`]
    : [`${host}: not allowed: ${answer.reason ?? 'denied'}${answer.step_up ? ' (run: jitssh login --force)' : ''}.`]
  if (!answer.allowed && answer.request_command) lines.push(`You may ask for it: ${answer.request_command}`)
  if (!answer.target) lines.push(`${host} is not a target of this bastion: ssh cannot reach it through jitssh.`)
  ctx.stdout.write(`${lines.join('\n')}\n`)
  if (answer.rules.length > 0) ctx.stdout.write(`\n${renderTable(['YOUR RULE', 'EFFECT', 'ANSWER'], answer.rules.map((rule) => [rule.rule, rule.effect, rule.detail ? `${rule.outcome}: ${rule.detail}` : rule.outcome]))}`)
  return answer.allowed ? 0 : 1
}
