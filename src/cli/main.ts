// The full CLI: a commander program with one file per command. main() returns an exit code and never
// calls process.exit; everything outside comes in through the context.
import { Command, CommanderError, Option } from 'commander'
import { EXIT, exitCodeFor } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { parseJitsshEnv } from '../client/env.js'
import { createProcessContext } from './context.js'
import { formatError } from './output.js'
import type { RunCommand } from './command.js'
import type { LoginCommandOptions } from './login.js'
import type { LogoutOptions } from './logout.js'
import type { StatusOptions } from './status.js'
import type { SshConfigOptions } from './ssh-config.js'
import type { SshGenOptions } from './ssh-gen.js'
import type { SshOptions } from './ssh.js'
import type { AuditOptions } from './audit.js'
import type { RevokeOptions } from './revoke.js'
import type { SessionsOptions } from './sessions.js'
import type { UserOptions } from './user-access.js'
import type { HostsOptions } from './hosts.js'
import type { ExplainOptions } from './explain.js'
import type { RequestOptions } from './request.js'
import type { RecordingsOptions } from './recordings.js'
import type { AgentCommandOptions } from './agent.js'
import type { ServiceAccountsOptions } from './service-accounts.js'
import type { DoctorOptions } from './doctor.js'
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

/** A command file as main uses it: `registerX` and the real run function `xCommand`. */
interface CommandModule<R> {
  register(program: Command, ctx: ClientContext, run: R): void
  run: R
}

/**
 * Each command: its name on the command line and its file, imported when the command is set up. Only the
 * command being run is (ssh runs `jitssh ssh` and, for a new certificate, `jitssh ssh-gen` on every connection):
 * loading and initialising every command's file and what it imports was most of the CLI's start-up.
 */
export const COMMANDS: { [K in keyof CommandRuns]: [name: string, load: () => Promise<CommandModule<CommandRuns[K]>>] } = {
  login: ['login', () => import('./login.js').then((m) => ({ register: m.registerLogin, run: m.loginCommand }))],
  logout: ['logout', () => import('./logout.js').then((m) => ({ register: m.registerLogout, run: m.logoutCommand }))],
  status: ['status', () => import('./status.js').then((m) => ({ register: m.registerStatus, run: m.statusCommand }))],
  sshConfig: ['ssh-config', () => import('./ssh-config.js').then((m) => ({ register: m.registerSshConfig, run: m.sshConfigCommand }))],
  sshGen: ['ssh-gen', () => import('./ssh-gen.js').then((m) => ({ register: m.registerSshGen, run: m.sshGenCommand }))],
  ssh: ['ssh', () => import('./ssh.js').then((m) => ({ register: m.registerSsh, run: m.sshCommand }))],
  audit: ['audit', () => import('./audit.js').then((m) => ({ register: m.registerAudit, run: m.auditCommand }))],
  sessions: ['sessions', () => import('./sessions.js').then((m) => ({ register: m.registerSessions, run: m.sessionsCommand }))],
  revoke: ['revoke', () => import('./revoke.js').then((m) => ({ register: m.registerRevoke, run: m.revokeCommand }))],
  user: ['user', () => import('./user-access.js').then((m) => ({ register: m.registerUser, run: m.userCommand }))],
  hosts: ['hosts', () => import('./hosts.js').then((m) => ({ register: m.registerHosts, run: m.hostsCommand }))],
  explain: ['explain', () => import('./explain.js').then((m) => ({ register: m.registerExplain, run: m.explainCommand }))],
  request: ['request', () => import('./request.js').then((m) => ({ register: m.registerRequest, run: m.requestCommand }))],
  recordings: ['recordings', () => import('./recordings.js').then((m) => ({ register: m.registerRecordings, run: m.recordingsCommand }))],
  agent: ['agent', () => import('./agent.js').then((m) => ({ register: m.registerAgent, run: m.agentCommand }))],
  serviceAccounts: ['service-accounts', () => import('./service-accounts.js').then((m) => ({ register: m.registerServiceAccounts, run: m.serviceAccountsCommand }))],
  doctor: ['doctor', () => import('./doctor.js').then((m) => ({ register: m.registerDoctor, run: m.doctorCommand }))],
}

/** `runs` replaces the real run functions (the parse tests record the options instead of running anything). */
export async function main(argv: string[], context?: ClientContext, runs: Partial<CommandRuns> = {}): Promise<number> {
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
  // A command named in full is the only one set up; anything else sets them all up, for the help and suggestions.
  const all = Object.entries(COMMANDS) as Array<[keyof CommandRuns, (typeof COMMANDS)[keyof CommandRuns]]>
  const named = all.filter(([, [name]]) => name === argv[0])
  const modules = await Promise.all((named.length > 0 ? named : all).map(async ([key, [, load]]) => [key, await load()] as const))
  for (const [key, module] of modules) {
    const run = (runs[key] ?? module.run) as RunCommand<unknown>
    ;(module.register as CommandModule<RunCommand<unknown>>['register'])(program, ctx, exitCode(run))
  }
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
