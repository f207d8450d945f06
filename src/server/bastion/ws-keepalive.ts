import type { WebSocket } from 'ws'

/** What a keepalive needs of a connection: send a ping, and cut it off. */
export interface KeepalivePeer {
  ping(): void
  terminate(): void
}

/**
 * Pings `peer` every `intervalMs`; a peer that answered nothing (no pong, no message: `seen`) since the last
 * ping is cut off (`terminate`), after `onLost` (which names the reason). For the bastion's tunnels (WebSocket
 * and raw) and the browser terminal alike.
 */
export function keepPeerAlive(peer: KeepalivePeer, intervalMs: number, onLost: () => void): { seen(): void; stop(): void } {
  let alive = true
  const timer = setInterval(() => {
    if (!alive) {
      onLost()
      peer.terminate()
      return
    }
    alive = false
    peer.ping()
  }, intervalMs)
  return { seen: () => void (alive = true), stop: () => clearInterval(timer) }
}

/** keepPeerAlive for a WebSocket: its pongs count as answers. */
export function keepAlive(ws: WebSocket, intervalMs: number, onLost: () => void): { seen(): void; stop(): void } {
  const keepalive = keepPeerAlive({ ping: () => ws.ping(), terminate: () => ws.terminate() }, intervalMs, onLost)
  ws.on('pong', keepalive.seen)
  return keepalive
}
