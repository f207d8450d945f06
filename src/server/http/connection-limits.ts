import type { Server } from 'node:net'
import type { ConnectionsConfig } from '../config/types.js'

export interface ConnectionLimitOptions {
  /** Concurrent connections one address may hold. */
  perIp: number
  /** Told of each refused connection (metrics, a sampled log line). */
  onRefused: (address: string) => void
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one address (a dual-stack listener shows IPv4 peers mapped). */
function addressKey(address: string | undefined): string {
  return (address ?? '').toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
}

/**
 * Caps the connections one peer address holds at once, counted from accept to close, so WebSocket tunnels
 * (upgraded HTTP connections) count as long as they live. A connection over the cap is closed before a byte
 * of it is read: no HTTP answer (with TLS none could be sent before the handshake), no parsing, no log line.
 * Runs ahead of the HTTP server's own connection handling.
 */
export function limitConnectionsPerIp(server: Server, options: ConnectionLimitOptions): void {
  const open = new Map<string, number>()
  server.prependListener('connection', (socket) => {
    const key = addressKey(socket.remoteAddress)
    const count = open.get(key) ?? 0
    if (count >= options.perIp) {
      socket.destroy()
      options.onRefused(key)
      return
    }
    open.set(key, count + 1)
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1
      if (left === 0) open.delete(key)
      else open.set(key, left)
    })
  })
}

/**
 * Fastify's server options for the timeouts. Node checks the header and request timeouts only every
 * `connectionsCheckingInterval` (30 s by default, which is how a half-sent head used to be held 60-90 s),
 * so the check runs at a quarter of the header timeout, at most once a second. Upgraded connections
 * (WebSocket tunnels) leave all of these behind; the bastion's keepalive looks after them.
 */
export function connectionTimeouts(settings: ConnectionsConfig): {
  requestTimeout: number
  connectionTimeout: number
  keepAliveTimeout: number
  /** With TLS: the handshake must be done within the header timeout too (Node's default is 120 s). */
  tlsHandshakeTimeout: number
  nodeServer: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number }
} {
  return {
    requestTimeout: settings.requestTimeoutMs,
    connectionTimeout: settings.idleTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    tlsHandshakeTimeout: settings.headersTimeoutMs,
    nodeServer: {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(settings.headersTimeoutMs / 4))),
    },
  }
}
