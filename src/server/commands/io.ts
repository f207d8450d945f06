import type { Command } from 'commander'

/** Streams and signals a command uses; tests pass buffers. */
export interface ServerCliIo {
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<void>
}

/** A command's work: options in, exit code out. Each command file exports its real one (e.g. `krlCommand`). */
export type CommandRun<Options> = (io: ServerCliIo, options: Options) => Promise<number>

/**
 * Every command is defined the same way (as GitHub CLI's `NewCmdX(f, runF)`): `registerX(program, cli, run)`
 * parses into a named options type and hands it to `run`, which defaults to the real command. Tests pass their
 * own `run` to check the parsing alone. The exit code goes back through `cli.exitCode`.
 */
export interface CliRun {
  io: ServerCliIo
  exitCode: number | undefined
}

export type Register<Options> = (program: Command, cli: CliRun, run?: CommandRun<Options>) => void

export interface ConfigOptions {
  config: string
}

/** A command of `program` that reads the server's config file (`--config FILE`, required). */
export function configCommand(program: Command, name: string, description: string): Command {
  return program.command(name).description(description).requiredOption('--config <file>', 'config file')
}

/** The action of a command: run it and keep its exit code. */
export function action<Options>(cli: CliRun, run: CommandRun<Options>): (options: Options) => Promise<void> {
  return async (options) => {
    cli.exitCode = await run(cli.io, options)
  }
}
