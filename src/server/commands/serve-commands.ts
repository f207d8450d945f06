import type { Command } from 'commander'
import { JitsshError } from '../../shared/errors.js'
import type { ServerConfig } from '../config/types.js'
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
  try {
    await server.listen()
  } catch (error) {
    await server.close()
    process.off('SIGHUP', reload)
    process.off('uncaughtException', lastResort)
    process.off('unhandledRejection', lastResort)
    throw listenError(error, config.listen, config.source)
  }
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

/** A failed listen as one line that names the address and the fix (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
function listenError(error: unknown, listen: ServerConfig['listen'], source: string): unknown {
  const code = (error as NodeJS.ErrnoException).code
  const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`
  const fix = `change listen: in ${source}`
  switch (code) {
    case 'EADDRINUSE':
      return new JitsshError('ERR_USAGE', `cannot listen on ${where}: the address is in use (another jitssh-server, or another program)`, { hint: `stop the other one, or ${fix}` })
    case 'EACCES':
      return new JitsshError('ERR_USAGE', `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`, { hint: `use a port from 1024, or grant the capability (setcap cap_net_bind_service=+ep $(command -v node)), or ${fix}` })
    case 'EADDRNOTAVAIL':
      return new JitsshError('ERR_USAGE', `cannot listen on ${where}: no network interface has that address`, { hint: fix })
    default:
      return error
  }
}
