import { Command, CommanderError } from 'commander'
import { EXIT, exitCodeFor, isJitsshError } from '../../shared/errors.js'
import { registerAudit } from './audit-command.js'
import { registerHashPassword } from './hash-password-command.js'
import { registerHostCert } from './host-cert-command.js'
import { registerInit } from './init-command.js'
import type { CliRun, Register, ServerCliIo } from './io.js'
import { registerKrl } from './krl-command.js'
import { registerPolicy } from './policy-command.js'
import { registerTargetSetup } from './target-setup-command.js'
import { registerCheck, registerStart } from './serve-commands.js'
import { VERSION } from '../../shared/version.js'

/** Every command, in the order `--help` lists them. */
export const COMMANDS = {
  init: registerInit,
  'hash-password': registerHashPassword,
  start: registerStart,
  check: registerCheck,
  audit: registerAudit,
  krl: registerKrl,
  'host-cert': registerHostCert,
  policy: registerPolicy,
  'target-setup': registerTargetSetup,
} satisfies Record<string, Register<any>>

/**
 * The program. `runs` replaces commands' real work (parse-only tests): e.g. `{ krl: async (io, options) => ... }`.
 */
export function buildProgram(cli: CliRun, runs: { [K in keyof typeof COMMANDS]?: Parameters<(typeof COMMANDS)[K]>[2] } = {}): Command {
  const { io } = cli
  const program = new Command('jitssh-server')
    .description('jitssh access server: identity, OAuth for the CLI, SSH CA, WebSocket bastion, audit log')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError()
  for (const [name, register] of Object.entries(COMMANDS) as Array<[keyof typeof COMMANDS, Register<unknown>]>) register(program, cli, runs[name] as never)
  return program
}

/** The server CLI. Returns the exit code; never calls process.exit (the bin does). */
export async function run(argv: string[], io: Partial<ServerCliIo> = {}): Promise<number> {
  const streams: ServerCliIo = { stdin: io.stdin ?? process.stdin, stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, stopSignal: io.stopSignal }
  const cli: CliRun = { io: streams, exitCode: undefined }
  const program = buildProgram(cli)
  try {
    await program.parseAsync(argv, { from: 'user' })
    if (cli.exitCode === undefined) {
      program.outputHelp()
      return EXIT.USAGE
    }
    return cli.exitCode
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    if (isJitsshError(error)) {
      streams.stderr.write(`jitssh-server: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`)
      return exitCodeFor(error)
    }
    streams.stderr.write(`jitssh-server: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`)
    return EXIT.FAILURE
  }
}
