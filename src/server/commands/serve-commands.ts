import type { Command } from 'commander'
import { createServer } from '../app.js'
import { loadConfig } from '../config/load-config.js'
import { action, type CliRun, type CommandRun, type ServerCliIo } from './io.js'

export interface ConfigOptions {
  config: string
}

export function registerStart(program: Command, cli: CliRun, run: CommandRun<ConfigOptions> = startCommand): void {
  program
    .command('start')
    .description('validate the config and serve')
    .requiredOption('--config <file>', 'config file')
    .action(action(cli, run))
}

export function registerCheck(program: Command, cli: CliRun, run: CommandRun<ConfigOptions> = checkCommand): void {
  program
    .command('check')
    .description('validate the config and load the keys, then exit')
    .requiredOption('--config <file>', 'config file')
    .action(action(cli, run))
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
  const server = await createServer(config, { logStream: io.stderr })
  await server.listen()
  const stop =
    io.stopSignal ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve())
      process.once('SIGTERM', () => resolve())
    })
  await stop
  await server.close()
  return 0
}
