import type { ConfigNode } from './config-node.js'
import type { ConnectionsConfig } from './types.js'

/**
 * `connections:` — how long a client may take and how many connections one address may hold:
 *   headers_timeout: 10s     the whole request head must arrive within this (slow-header clients are cut off)
 *   request_timeout: 30s     the whole request, head and body
 *   keepalive_timeout: 15s   an idle keep-alive connection is closed after this
 *   idle_timeout: 60s        a connection with no traffic at all (not WebSocket tunnels: the bastion pings those)
 *   per_ip: 256              concurrent connections from one address, WebSocket tunnels included
 */
export function parseConnections(node: ConfigNode): ConnectionsConfig {
  node.onlyKeys(['headers_timeout', 'request_timeout', 'keepalive_timeout', 'idle_timeout', 'per_ip'])
  const headersTimeoutMs = node.child('headers_timeout').duration(10_000, { min: 500, max: 120_000 })
  const requestTimeoutNode = node.child('request_timeout')
  const requestTimeoutMs = requestTimeoutNode.duration(30_000, { min: 1_000, max: 600_000 })
  if (requestTimeoutMs < headersTimeoutMs) requestTimeoutNode.fail('must be at least headers_timeout (the head is part of the request)')
  return {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: node.child('keepalive_timeout').duration(15_000, { min: 1_000, max: 600_000 }),
    idleTimeoutMs: node.child('idle_timeout').duration(60_000, { min: 1_000, max: 3_600_000 }),
    perIp: node.child('per_ip').integer(256, 1, 1_000_000),
  }
}
