import type { Command } from 'commander'
import { JitsshError } from '../../shared/errors.js'
import { parseTimeParam } from '../admin/audit-query.js'
import { parseDuration } from '../../shared/duration.js'
import { loadConfig } from '../config/load-config.js'
import type { ServerConfig } from '../config/types.js'
import { requestedHost } from '../http/request-fields.js'
import type { Identity } from '../identity/identity.js'
import { findLocalUser, identityOfLocalUser } from '../identity/local-users.js'
import { findServiceAccount, identityOfServiceAccount } from '../identity/service-accounts.js'
import { decideAccess, type AccessDecision } from '../policy/policy.js'
import { isUnixAccountName } from '../policy/principals.js'
import { action, configCommand, type CliRun, type CommandRun, type ServerCliIo } from './io.js'

export interface PolicyTestOptions {
  config: string
  user: string
  host: string
  login?: string
  ip?: string
  at?: string
  authAge?: string
  groups?: string
  amr?: string
  acr?: string
  json?: boolean
}

export function registerPolicy(program: Command, cli: CliRun, run: CommandRun<PolicyTestOptions> = policyTestCommand): void {
  const policy = program.command('policy').description('policy tools')
  configCommand(policy, 'test', 'say what the policy answers for a person, a host and circumstances, and what every rule says (exit 0 allowed, 1 denied)')
    .requiredOption('--user <user>', 'a local username, an email (then give --groups for people from the identity provider), or service:NAME')
    .requiredOption('--host <host>', 'the host name')
    .option('--login <name>', 'the account asked for (default: any the rule grants)')
    .option('--ip <address>', 'the client address the server would see (for source_networks)')
    .option('--at <time>', 'when: ISO 8601 with a zone, or Unix seconds (default: now)')
    .option('--auth-age <duration>', 'how long ago the person signed in, e.g. 30m, 9h (default: just now)')
    .option('--groups <list>', 'the groups, comma-separated, for someone who is not a local user')
    .option('--amr <list>', 'authentication methods the provider reported, comma-separated (e.g. pwd,otp)')
    .option('--acr <value>', 'the provider\'s authentication context class')
    .option('--json', 'print JSON (for scripts)')
    .action(action(cli, run))
}

const list = (text: string | undefined): string[] => (text ?? '').split(',').map((item) => item.trim()).filter(Boolean)

/** The person as the config knows them (a local user), or as the options describe them. */
function personOf(config: ServerConfig, options: PolicyTestOptions): Identity {
  const name = options.user.trim().toLowerCase()
  if (name.startsWith('service:')) {
    const account = findServiceAccount(config, name.slice('service:'.length))
    if (!account) throw new JitsshError('ERR_USAGE', `--user: no service account named ${name.slice(8)} in the config`)
    return identityOfServiceAccount(account)
  }
  const users = config.identity.local
  const local = users ? (findLocalUser(users, name) ?? users.users.find((user) => user.email === name)) : undefined
  if (local) return options.groups === undefined ? identityOfLocalUser(local) : { ...identityOfLocalUser(local), groups: list(options.groups) }
  if (!/^[^\s@]+@[^\s@]+$/.test(name)) throw new JitsshError('ERR_USAGE', `--user: no local user named ${name}: give an email address (and --groups)`)
  return { sub: name, username: name.split('@')[0]!, email: name, name: undefined, groups: list(options.groups) }
}

export async function policyTestCommand(io: ServerCliIo, options: PolicyTestOptions): Promise<number> {
  const config = loadConfig(options.config)
  const identity = personOf(config, options)
  let host: string
  try {
    host = requestedHost(options.host)
  } catch (error) {
    throw new JitsshError('ERR_USAGE', `--host: ${(error as Error).message}`)
  }
  if (options.login !== undefined && !isUnixAccountName(options.login)) throw new JitsshError('ERR_USAGE', `--login: "${options.login}" is not a unix account name`)
  const at = options.at === undefined || options.at === 'now' ? Date.now() : Date.parse(usage(() => parseTimeParam(options.at!, '--at')))
  const authAge = options.authAge === undefined ? 0 : parseDuration(options.authAge)
  if (authAge === undefined) throw new JitsshError('ERR_USAGE', `--auth-age: expected a duration like "30m" or "9h"`)
  const decision = decideAccess(config.policy, {
    identity, host, at, sourceIp: options.ip, ...(options.login !== undefined ? { login: options.login } : {}),
    auth: { time: at - authAge, method: 'password', ...(options.amr ? { amr: list(options.amr) } : {}), ...(options.acr ? { acr: options.acr } : {}) },
  }, config.certificates)
  if (options.json === true) io.stdout.write(`${JSON.stringify({ user: identity.email, host, at: new Date(at).toISOString(), ...decision }, null, 2)}\n`)
  else io.stdout.write(renderDecision(identity, host, options, at, decision))
  return decision.allowed ? 0 : 1
}

function usage<T>(run: () => T): T {
  try {
    return run()
  } catch (error) {
    throw new JitsshError('ERR_USAGE', (error as Error).message)
  }
}

function renderDecision(identity: Identity, host: string, options: PolicyTestOptions, at: number, decision: AccessDecision): string {
  const circumstances = [`at ${new Date(at).toISOString()}`, options.ip ? `from ${options.ip}` : 'from an unknown address', `signed in ${options.authAge ?? '0m'} ago`]
  const lines = [`${identity.email} (groups: ${identity.groups.join(', ') || 'none'}) → ${host}${options.login ? ` as ${options.login}` : ''}, ${circumstances.join(', ')}`]
  if (decision.allowed) {
    const until = decision.until === undefined ? '' : `, until ${new Date(decision.until).toISOString()} (the rule's window)`
    lines.push(`ALLOWED by rule "${decision.rule}": logins ${decision.principals.join(', ')}; certificates for up to ${Math.round(decision.ttlMs / 60_000)} min${until}`)
  } else {
    lines.push(`DENIED (${decision.code}${decision.stepUp ? ', a fresh sign-in would help' : ''}): ${decision.reason}`)
  }
  lines.push('', 'rules, in order:')
  const width = Math.max(...decision.checks.map((check) => check.rule.length), 4)
  for (const check of decision.checks) lines.push(`  ${check.rule.padEnd(width)}  ${check.effect.padEnd(5)}  ${check.outcome}${check.detail ? `: ${check.detail}` : ''}`)
  return `${lines.join('\n')}\n`
}
