import type { Command } from 'commander'
import { verifyAuditChain } from '../audit/audit-log.js'
import { loadConfig } from '../config/load-config.js'
import { openStore } from '../store/open-store.js'
import { action, configCommand, type CliRun, type CommandRun, type ConfigOptions, type ServerCliIo } from './io.js'

export function registerAudit(program: Command, cli: CliRun, run: CommandRun<ConfigOptions> = auditVerifyCommand): void {
  const audit = program.command('audit').description('audit log tools')
  configCommand(audit, 'verify', 'check the hash chain of the audit log; names the first altered row').action(action(cli, run))
}

export async function auditVerifyCommand(io: ServerCliIo, { config: configPath }: ConfigOptions): Promise<number> {
  const config = loadConfig(configPath)
  const store = await openStore(config.storage, { listenForRevocations: false })
  try {
    const result = await verifyAuditChain(store)
    if (result.problem) {
      io.stdout.write(`audit chain BROKEN at seq ${result.problem.seq}: ${result.problem.problem}\n`)
      io.stdout.write(`(${result.events} events before it verified)\n`)
      return 1
    }
    io.stdout.write(`audit chain ok: ${result.events} events verified\n`)
    return 0
  } finally {
    await store.close()
  }
}
