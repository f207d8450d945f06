import { resolve } from 'node:path'
import type { ConfigNode } from './config-node.js'
import { outboundUrl } from './parse-sections.js'
import { kernelFileSystemOf } from './kernel-paths.js'
import type { AuditConfig, CheckpointHttpSinkConfig } from './types.js'

/** Where checkpoints go when the config says nothing: a file next to the config. */
export const DEFAULT_CHECKPOINT_FILE = 'audit-checkpoints.jsonl'
/** RFC 6750 b64token: what fits in `Authorization: Bearer <token>` without quoting. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/

/**
 * `audit:`
 *   checkpoints:
 *     every_events: 1000        a checkpoint after this many events written by this process...
 *     interval: 10s             ...or this long after the last one when the chain has grown; and at shutdown
 *     file: audit-checkpoints.jsonl   (relative to the config file; false: none)
 *     stdout: false             JSON lines on standard output, for a SIEM
 *     http: { url, token, timeout: 5s, max_queue: 1000 }
 */
export function parseAudit(node: ConfigNode, baseDir: string): AuditConfig {
  node.onlyKeys(['checkpoints'])
  const checkpoints = node.child('checkpoints').onlyKeys(['every_events', 'interval', 'file', 'stdout', 'http'])
  const fileNode = checkpoints.child('file')
  const file = fileNode.value === false ? undefined : resolve(baseDir, fileNode.string(DEFAULT_CHECKPOINT_FILE))
  // Appending checkpoints to a file under /proc or /sys would write to the kernel (as root, to its settings).
  const kernel = file === undefined ? undefined : kernelFileSystemOf(file)
  if (kernel) fileNode.fail(`${file} is under ${kernel}, a kernel file system: name a file on disk, or use stdout: true for a stream`)
  const http = parseHttpSink(checkpoints.child('http'))
  return {
    checkpoints: {
      everyEvents: checkpoints.child('every_events').integer(1000, 1, 1_000_000),
      intervalMs: checkpoints.child('interval').duration(10_000, { min: 1_000, max: 3_600_000 }),
      file,
      stdout: checkpoints.child('stdout').boolean(false),
      http,
    },
  }
}

function parseHttpSink(node: ConfigNode): CheckpointHttpSinkConfig | undefined {
  if (node.missing) return undefined
  node.onlyKeys(['url', 'token', 'timeout', 'max_queue'])
  const url = outboundUrl(node.child('url'), 'https://siem.example.com/jitssh/checkpoints', 'put credentials in "token", not in the URL')
  const tokenNode = node.child('token')
  const token = tokenNode.optionalString()
  if (token !== undefined && !BEARER_TOKEN.test(token)) tokenNode.fail('expected characters A-Z a-z 0-9 . _ ~ + / - (it is sent as "Authorization: Bearer <token>")')
  return {
    url: url.href,
    token,
    timeoutMs: node.child('timeout').duration(5_000, { min: 100, max: 60_000 }),
    maxQueue: node.child('max_queue').integer(1000, 1, 100_000),
  }
}
