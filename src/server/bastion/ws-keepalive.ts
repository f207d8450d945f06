import type { WebSocket } from 'ws'

/**
 * Pings `ws` every `intervalMs`; a peer that answered nothing (no pong, no message: `seen`) since the last
 * ping is cut off (`terminate`), after `onLost` (which names the reason). For the bastion's tunnels and the
 * browser terminal alike.
 */
export function keepAlive(ws: WebSocket, intervalMs: number, onLost: () => void): { seen(): void; stop(): void } {
  let alive = true
  const timer = setInterval(() => {
    if (!alive) {
      onLost()
      ws.terminate()
      return
    }
    alive = false
    ws.ping()
  }, intervalMs)
  ws.on('pong', () => void (alive = true))
  return { seen: () => void (alive = true), stop: () => clearInterval(timer) }
}
