// The full CLI: a commander program with one file per command. main() returns an exit code and never
// calls process.exit; everything outside comes in through the context.
import { Command, CommanderError, Option } from 'commander'
import { EXIT, exitCodeFor } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { parseJitsshEnv } from '../client/env.js'
import { createProcessContext } from './context.js'
import { formatError } from './output.js'
import type { RunCommand } from './command.js'
import { registerLogin, loginCommand, type LoginCommandOptions } from './login.js'
import { registerLogout, logoutCommand, type LogoutOptions } from './logout.js'
import { registerStatus, statusCommand, type StatusOptions } from './status.js'
import { registerSshConfig, sshConfigCommand, type SshConfigOptions } from './ssh-config.js'
import { registerSshGen, sshGenCommand, type SshGenOptions } from './ssh-gen.js'
import { registerSsh, sshCommand, type SshOptions } from './ssh.js'
import { registerAudit, auditCommand, type AuditOptions } from './audit.js'
import { registerRevoke, revokeCommand, type RevokeOptions } from './revoke.js'
import { registerSessions, sessionsCommand, type SessionsOptions } from './sessions.js'
import { registerUser, userCommand, type UserOptions } from './user-access.js'
import { registerHosts, hostsCommand, type HostsOptions } from './hosts.js'
import { registerExplain, explainCommand, type ExplainOptions } from './explain.js'
import { registerRequest, requestCommand, type RequestOptions } from './request.js'
import { recordingsCommand, registerRecordings, type RecordingsOptions } from './recordings.js'
import { registerAgent, agentCommand, type AgentCommandOptions } from './agent.js'
import { registerServiceAccounts, serviceAccountsCommand, type ServiceAccountsOptions } from './service-accounts.js'
import { doctorCommand, registerDoctor, type DoctorOptions } from './doctor.js'

import { VERSION } from '../shared/version.js'

export { VERSION }

/** The run function of each command. */
export interface CommandRuns {
  login: RunCommand<LoginCommandOptions>
  logout: RunCommand<LogoutOptions>
  status: RunCommand<StatusOptions>
  sshConfig: RunCommand<SshConfigOptions>
  sshGen: RunCommand<SshGenOptions>
  ssh: RunCommand<SshOptions>
  audit: RunCommand<AuditOptions>
  sessions: RunCommand<SessionsOptions>
  revoke: RunCommand<RevokeOptions>
  user: RunCommand<UserOptions>
  hosts: RunCommand<HostsOptions>
  explain: RunCommand<ExplainOptions>
  request: RunCommand<RequestOptions>
  recordings: RunCommand<RecordingsOptions>
  agent: RunCommand<AgentCommandOptions>
  serviceAccounts: RunCommand<ServiceAccountsOptions>
  doctor: RunCommand<DoctorOptions>
}

export const COMMANDS: CommandRuns = {
  login: loginCommand,
  logout: logoutCommand,
  status: statusCommand,
  sshConfig: sshConfigCommand,
  sshGen: sshGenCommand,
  ssh: sshCommand,
  audit: auditCommand,
  sessions: sessionsCommand,
  revoke: revokeCommand,
  user: userCommand,
  hosts: hostsCommand,
  explain: explainCommand,
  request: requestCommand,
  recordings: recordingsCommand,
  agent: agentCommand,
  serviceAccounts: serviceAccountsCommand,
  doctor: doctorCommand,
}

/** `runs` replaces the real run functions (the parse tests record the options instead of running anything). */
export async function main(argv: string[], context?: ClientContext, runs: CommandRuns = COMMANDS): Promise<number> {
  const owned = context === undefined ? createProcessContext() : null
  const ctx = context ?? owned!.ctx
  const debug = argv.includes('--debug') || parseJitsshEnv(ctx.env).debug
  let code: number = EXIT.OK
  const program = new Command('jitssh')
    .description('Just-in-time SSH access: short-lived OpenSSH certificates through an auditing bastion.')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--debug', 'show the cause chain of errors (also JITSSH_DEBUG=1)'))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'jitssh: ')),
    })
    .showSuggestionAfterError(true)
  // Commander keeps nothing an action returns: each run leaves its exit code here.
  const exitCode = <O>(run: RunCommand<O>): RunCommand<O> => async (c, options) => (code = await run(c, options))
  const commands: Array<[name: string, register: () => void]> = [
    ['login', () => registerLogin(program, ctx, exitCode(runs.login))],
    ['logout', () => registerLogout(program, ctx, exitCode(runs.logout))],
    ['status', () => registerStatus(program, ctx, exitCode(runs.status))],
    ['ssh-config', () => registerSshConfig(program, ctx, exitCode(runs.sshConfig))],
    ['ssh-gen', () => registerSshGen(program, ctx, exitCode(runs.sshGen))],
    ['ssh', () => registerSsh(program, ctx, exitCode(runs.ssh))],
    ['audit', () => registerAudit(program, ctx, exitCode(runs.audit))],
    ['sessions', () => registerSessions(program, ctx, exitCode(runs.sessions))],
    ['revoke', () => registerRevoke(program, ctx, exitCode(runs.revoke))],
    ['user', () => registerUser(program, ctx, exitCode(runs.user))],
    ['hosts', () => registerHosts(program, ctx, exitCode(runs.hosts))],
    ['explain', () => registerExplain(program, ctx, exitCode(runs.explain))],
    ['request', () => registerRequest(program, ctx, exitCode(runs.request))],
    ['recordings', () => registerRecordings(program, ctx, exitCode(runs.recordings))],
    ['agent', () => registerAgent(program, ctx, exitCode(runs.agent))],
    ['service-accounts', () => registerServiceAccounts(program, ctx, exitCode(runs.serviceAccounts))],
    ['doctor', () => registerDoctor(program, ctx, exitCode(runs.doctor))],
  ]
  // A command named in full is the only one set up (ssh runs `jitssh ssh` and, for a new certificate,
  // `jitssh ssh-gen` on every connection); anything else sets them all up, for the help and suggestions.
  const named = commands.find(([name]) => name === argv[0])
  for (const [, register] of named ? [named] : commands) register()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return EXIT.USAGE
      return EXIT.USAGE
    }
    ctx.stderr.write(formatError(error, debug))
    return exitCodeFor(error)
  } finally {
    await owned?.dispose()
  }
}
