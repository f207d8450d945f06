import type { Command } from 'commander'
import { createServer } from '../app.js'
import { loadConfig } from '../config/load-config.js'
import { action, configCommand, type CliRun, type CommandRun, type ConfigOptions, type ServerCliIo } from './io.js'

export function registerStart(program: Command, cli: CliRun, run: CommandRun<ConfigOptions> = startCommand): void {
  configCommand(program, 'start', 'validate the config and serve').action(action(cli, run))
}

export function registerCheck(program: Command, cli: CliRun, run: CommandRun<ConfigOptions> = checkCommand): void {
  configCommand(program, 'check', 'validate the config and load the keys, then exit').action(action(cli, run))
}

export async function checkCommand(io: ServerCliIo, { config: configPath }: ConfigOptions): Promise<number> {
  const config = loadConfig(configPath)
  const server = await createServer(config, { logStream: io.stderr })
  await server.close()
  io.stderr.write(`${configPath}: ok (${config.policy.length} policy rules, ${config.targets.size} targets)\n`)
  return 0
}

export async function startCommand(io: ServerCliIo, { config: configPath }: ConfigOptions): Promise<number> {
  const config = loadConfig(configPath)
  const server = await createServer(config, { logStream: io.stderr, stdout: io.stdout })
  // The last resort: an error no handler caught must not end every session of every person at once.
  // It is logged (with its stack) and the server keeps serving; each such error is a bug to fix.
  const lastResort = (error: unknown): void => server.app.log.error({ err: error }, 'uncaught error (a bug); the server keeps serving')
  process.on('uncaughtException', lastResort)
  process.on('unhandledRejection', lastResort)
  // SIGHUP re-reads the config file: a bad one is logged and refused, and the running one stays.
  const reload = (): void => void server.reload(null)
  process.on('SIGHUP', reload)
  await server.listen()
  const stop =
    io.stopSignal ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
  await stop
  await server.close()
  process.off('SIGHUP', reload)
  process.off('uncaughtException', lastResort)
  process.off('unhandledRejection', lastResort)
  return 0
}
