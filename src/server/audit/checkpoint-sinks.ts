import { closeSync, fdatasync, fstatSync, openSync, write } from 'node:fs'
import { promisify } from 'node:util'
import { JitsshError } from '../../shared/errors.js'
import type { CheckpointHttpSinkConfig } from '../config/types.js'
import { DeliveryQueue, type CheckpointSink } from '../http/delivery-queue.js'

type ProblemReport = (message: string, fields: Record<string, unknown>) => void

const writeFd = promisify(write)
const datasync = promisify(fdatasync)
/** Lines waiting for a file or a stream (each is one small write; they wait only while the disk or reader stalls). */
const LOCAL_QUEUE = 1000

/**
 * An append-only JSON-lines file: opened once with O_APPEND (created 0600), each line written whole and
 * fdatasync'ed. Refused at start when it cannot be opened, or when other users may write to it (anyone who
 * can rewrite the checkpoints can hide a truncation); readable by a group is allowed, for a log shipper.
 * `configKey` names the setting in errors (`config.yaml: audit.checkpoints.file`).
 */
export function fileCheckpointSink(path: string, onProblem: ProblemReport, configKey = 'audit.checkpoints.file'): CheckpointSink {
  let fd: number
  try {
    fd = openSync(path, 'a', 0o600)
  } catch (error) {
    throw new JitsshError('ERR_INVALID_CONFIG', `${configKey}: cannot open ${path} for appending (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const mode = fstatSync(fd).mode
  if (process.platform !== 'win32' && (mode & 0o022) !== 0) {
    closeSync(fd)
    throw new JitsshError('ERR_INVALID_CONFIG', `${configKey}: ${path}: permissions ${(mode & 0o777).toString(8)} let other users write to it (run: chmod 600 ${path})`)
  }
  const queue = new DeliveryQueue({
    name: 'file',
    maxQueue: LOCAL_QUEUE,
    onProblem,
    deliver: async (line) => {
      await writeFd(fd, line)
      await datasync(fd)
    },
  })
  return closingWith(queue, () => closeSync(fd))
}

/**
 * POSTs each checkpoint as a JSON body (`content-type: application/json`) to a receiver: a SIEM's HTTP
 * input, a log collector. Non-2xx answers and network errors are retried with backoff; each attempt has a
 * timeout; the queue is bounded.
 */
export function httpCheckpointSink(settings: CheckpointHttpSinkConfig, onProblem: ProblemReport, fetchImpl: typeof fetch = fetch): DeliveryQueue {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (settings.token !== undefined) headers.authorization = `Bearer ${settings.token}`
  return new DeliveryQueue({
    name: 'http',
    maxQueue: settings.maxQueue,
    onProblem,
    deliver: async (line, signal) => {
      const response = await fetchImpl(settings.url, {
        method: 'POST', headers, body: line.trimEnd(), redirect: 'error', signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
      })
      await response.body?.cancel()
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
    },
  })
}

/**
 * JSON lines on a stream (standard output, for a SIEM that reads the process's output; the server's logs
 * go to standard error). A reader that stops reading holds one line in the stream; the rest wait, bounded.
 */
export function streamCheckpointSink(stream: NodeJS.WritableStream, onProblem: ProblemReport): CheckpointSink {
  const onError = (error: unknown): void => onProblem('audit checkpoints: the stdout sink failed', { sink: 'stdout', error: String(error) })
  stream.on('error', onError)
  const queue = new DeliveryQueue({
    name: 'stdout',
    maxQueue: LOCAL_QUEUE,
    onProblem,
    deliver: (line) => new Promise((resolve, reject) => void stream.write(line, (error) => (error ? reject(error) : resolve()))),
  })
  return closingWith(queue, () => stream.off('error', onError))
}

/** `queue` as a sink that lets go of what it holds (`release`) once the queue is closed. */
function closingWith(queue: DeliveryQueue, release: () => void): CheckpointSink {
  return {
    name: queue.name,
    counts: queue.counts,
    send: (line) => queue.send(line),
    async close(timeoutMs) {
      await queue.close(timeoutMs)
      release()
    },
  }
}
