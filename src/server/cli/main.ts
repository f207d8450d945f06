import { Command, CommanderError } from 'commander'
import { EXIT, exitCodeFor, isJitsshError } from '../../shared/errors.js'
import { DEFAULT_HOST_CERTIFICATE_VALIDITY } from '../ca/host-certificate.js'
import { auditVerifyCommand, checkCommand, hashPasswordCommand, initCommand, startCommand, type ServerCliIo } from './commands.js'
import { hostCertCommand, type HostCertOptions } from './host-cert-command.js'
import { krlCommand } from './krl-command.js'

function buildProgram(io: ServerCliIo, setResult: (run: () => Promise<number>) => void): Command {
  const program = new Command('jitssh-server')
    .description('jitssh access server: identity, OAuth for the CLI, SSH CA, WebSocket bastion, audit log')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError()

  program
    .command('init')
    .description('write a starter config.yaml and new CA and token-signing keys into DIR')
    .argument('[dir]', 'directory for config.yaml and keys/', '.')
    .option('--user <name>', 'the first local user', 'admin')
    .option('--email <email>', "that user's email", 'admin@example.com')
    .action((dir: string, options: { user: string; email: string }) => setResult(() => initCommand(io, dir, options)))

  program
    .command('hash-password')
    .description('read a password from stdin and print its scrypt hash (scrypt$N$r$p$salt$hash)')
    .action(() => setResult(() => hashPasswordCommand(io)))

  program
    .command('start')
    .description('validate the config and serve')
    .requiredOption('--config <file>', 'config file')
    .action((options: { config: string }) => setResult(() => startCommand(io, options.config)))

  program
    .command('check')
    .description('validate the config and load the keys, then exit')
    .requiredOption('--config <file>', 'config file')
    .action((options: { config: string }) => setResult(() => checkCommand(io, options.config)))

  const audit = program.command('audit').description('audit log tools')
  audit
    .command('verify')
    .description('check the hash chain of the audit log; names the first altered row')
    .requiredOption('--config <file>', 'config file')
    .action((options: { config: string }) => setResult(() => auditVerifyCommand(io, options.config)))

  program
    .command('krl')
    .description("write the KRL of revoked certificates (as served at /v1/ssh/krl) for sshd's RevokedKeys, atomically")
    .requiredOption('--config <file>', 'config file')
    .requiredOption('--out <file>', "where to write it ('-' for stdout)")
    .action((options: { config: string; out: string }) => setResult(() => krlCommand(io, options.config, options.out)))

  program
    .command('host-cert')
    .description("sign a host's public key with the host CA as an OpenSSH host certificate; prints the sshd_config line")
    .requiredOption('--config <file>', 'config file')
    .requiredOption('--hostname <name>', 'a name clients connect to (repeat for more; the first names the key id)', (name: string, names: string[] | undefined) => [...(names ?? []), name])
    .requiredOption('--key <file>', "the host's public key, e.g. /etc/ssh/ssh_host_ed25519_key.pub")
    .option('--validity <duration>', 'how long it is valid, e.g. 52w, 365d (at most 5 years)', DEFAULT_HOST_CERTIFICATE_VALIDITY)
    .option('--out <file>', "where to write it ('-' for stdout; default: <key without .pub>-cert.pub)")
    .action((options: HostCertOptions) => setResult(() => hostCertCommand(io, options)))

  return program
}

/** The server CLI. Returns the exit code; never calls process.exit (the bin does). */
export async function run(argv: string[], io: Partial<ServerCliIo> = {}): Promise<number> {
  const streams: ServerCliIo = { stdin: io.stdin ?? process.stdin, stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, stopSignal: io.stopSignal }
  let command: (() => Promise<number>) | undefined
  const program = buildProgram(streams, (run) => {
    command = run
  })
  try {
    await program.parseAsync(argv, { from: 'user' })
    if (!command) {
      program.outputHelp()
      return EXIT.USAGE
    }
    return await command()
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
