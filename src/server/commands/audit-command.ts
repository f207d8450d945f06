import type { Command } from 'commander'
import { AUDIT_KEY_FILES, loadAuditKeys } from '../audit/audit-keys.js'
import { readCheckpointFile, type CheckpointSet } from '../audit/checkpoint-file.js'
import { verifyAuditChain, type AuditVerification } from '../audit/audit-verify.js'
import { loadConfig } from '../config/load-config.js'
import { openStore } from '../store/open-store.js'
import { action, configCommand, type CliRun, type CommandRun, type ConfigOptions, type ServerCliIo } from './io.js'

export interface AuditVerifyOptions extends ConfigOptions {
  /** A JSON-lines file of checkpoints; default: the configured audit.checkpoints.file. */
  checkpoints?: string
}

export function registerAudit(program: Command, cli: CliRun, run: CommandRun<AuditVerifyOptions> = auditVerifyCommand): void {
  const audit = program.command('audit').description('audit log tools')
  configCommand(audit, 'verify', 'check the keyed hash chain of the audit log against its signed checkpoints; names each problem')
    .option('--checkpoints <file>', 'checkpoints to check against (default: the configured audit.checkpoints.file)')
    .action(action(cli, run))
}

export async function auditVerifyCommand(io: ServerCliIo, options: AuditVerifyOptions): Promise<number> {
  const config = loadConfig(options.config)
  const keys = loadAuditKeys(config.keysDir, (path) => io.stderr.write(`created ${path} (mode 0600): it was missing\n`))
  const checkpointPath = options.checkpoints ?? config.audit.checkpoints.file
  const checkpoints = checkpointPath === undefined ? undefined : await readCheckpointFile(checkpointPath, keys.checkpoint)
  if (options.checkpoints !== undefined && checkpoints === undefined) {
    io.stderr.write(`jitssh-server: ${options.checkpoints}: no such checkpoint file\n`)
    return 1
  }
  const store = await openStore(config.storage, { listenForRevocations: false, source: config.source })
  let result: AuditVerification
  try {
    result = await verifyAuditChain(store, keys.chain, checkpoints)
  } finally {
    await store.close()
  }
  io.stdout.write(report(result, keys.chain.id, checkpointPath, checkpoints))
  return result.problems.length === 0 && (checkpoints?.refused.length ?? 0) === 0 ? 0 : 1
}

/** One line per problem (each naming its seq), then what held. */
function report(result: AuditVerification, keyId: string, checkpointPath: string | undefined, checkpoints: CheckpointSet | undefined): string {
  const lines: string[] = []
  for (const { seq, problem } of result.problems) lines.push(`audit chain BROKEN at seq ${seq}: ${problem}`)
  for (const refused of checkpoints?.refused ?? []) {
    lines.push(`checkpoint REFUSED at ${refused.where}${refused.seq === undefined ? '' : ` (seq ${refused.seq})`}: ${refused.reason}`)
  }
  if (result.problems.length > 0) lines.push(`(${result.verified} events before it verified)`)
  else lines.push(`audit chain ok: ${result.events} events verified`)

  if (result.keyedFrom !== undefined) {
    const plain = result.keyedFrom > 1 ? `; seq 1 to ${result.keyedFrom - 1} are plain SHA-256 (written before the chain was keyed)` : ''
    lines.push(`keyed with ${AUDIT_KEY_FILES.chain} ${keyId} from seq ${result.keyedFrom}${plain}`)
  } else if (result.events > 0 && result.problems.length === 0) {
    lines.push(`no keyed rows yet: every row is plain SHA-256 (written before the chain was keyed)`)
  }
  if (checkpointPath === undefined) lines.push('checkpoints: none configured: rows cut off the end cannot be detected')
  else if (checkpoints === undefined) lines.push(`checkpoints: ${checkpointPath} does not exist yet: rows cut off the end cannot be detected`)
  else {
    const newest = result.newestCheckpoint
    const refused = checkpoints.refused.length > 0 ? ` (${checkpoints.refused.length} refused)` : ''
    const newestText = newest ? `; the newest match is seq ${newest.checkpoint.seq}, signed at ${newest.checkpoint.time}` : ''
    lines.push(`checkpoints: ${result.checkpointsMatched} of ${checkpoints.bySeq.size} in ${checkpointPath} match the chain${refused}${newestText}`)
  }
  return `${lines.join('\n')}\n`
}
