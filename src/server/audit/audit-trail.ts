import type { AuditConfig, ServerConfig } from '../config/types.js'
import { SampledLog, type LogLine } from '../logging/sampled-log.js'
import type { Store } from '../store/store.js'
import { AuditCheckpointer } from './audit-checkpointer.js'
import { assertSameChainKey, loadAuditKeys } from './audit-keys.js'
import { AuditLog } from './audit-log.js'
import type { CheckpointSink } from '../http/delivery-queue.js'
import { fileCheckpointSink, httpCheckpointSink, streamCheckpointSink } from './checkpoint-sinks.js'

/** How often a sink's trouble (failures, drops) reaches the log at most, per sink. */
const SINK_LOG_INTERVAL_MS = 60_000

export interface AuditTrailOptions {
  /** The server's log (warnings). */
  log: LogLine
  /** For `audit.checkpoints.stdout` (the start command's standard output). */
  stdout: NodeJS.WritableStream
  now: () => number
  fetch?: typeof fetch
}

/** The audit log and the checkpoints of its head, as the server runs them. */
export interface AuditTrail {
  log: AuditLog
  checkpointer: AuditCheckpointer
  /** The last checkpoint, delivered as far as the sinks allow (call after the last event is written). */
  close(): Promise<void>
}

/**
 * Loads the audit keys from keys_dir (creating missing ones, and logging that), refuses a chain key that did
 * not seal the chain's head, opens the configured checkpoint sinks and hooks the checkpointer to the log.
 */
export async function openAuditTrail(config: ServerConfig, store: Pick<Store, 'audit' | 'certificates' | 'replicas'>, options: AuditTrailOptions): Promise<AuditTrail> {
  const keys = loadAuditKeys(config.keysDir, (path) => options.log({ path }, 'created a missing audit key (mode 0600); every replica needs the same one'))
  await assertSameChainKey(store.audit, keys.chain, config.keysDir)
  const problems = new SampledLog(options.log, SINK_LOG_INTERVAL_MS)
  const sinks = openCheckpointSinks(config.audit.checkpoints, config.source, options, (message, fields) => problems.note(String(fields.sink), message, fields))
  const log = new AuditLog(store.audit, store.certificates, store.replicas, keys.chain, options.now)
  const checkpointer = new AuditCheckpointer(keys.checkpoint, sinks, config.audit.checkpoints, options.now)
  log.onRecorded((record) => checkpointer.recorded(record))
  return {
    log,
    checkpointer,
    async close() {
      await checkpointer.stop()
      problems.flush()
    },
  }
}

/** The sinks the config names, opened (a file that cannot be opened is a config error at start). */
function openCheckpointSinks(
  settings: AuditConfig['checkpoints'],
  configFile: string,
  outputs: Pick<AuditTrailOptions, 'stdout' | 'fetch'>,
  onProblem: (message: string, fields: Record<string, unknown>) => void,
): CheckpointSink[] {
  const sinks: CheckpointSink[] = []
  if (settings.file !== undefined) sinks.push(fileCheckpointSink(settings.file, onProblem, `${configFile}: audit.checkpoints.file`))
  if (settings.http !== undefined) sinks.push(httpCheckpointSink(settings.http, onProblem, outputs.fetch))
  if (settings.stdout) sinks.push(streamCheckpointSink(outputs.stdout, onProblem))
  return sinks
}
