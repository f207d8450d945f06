import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import { TUNNEL_CLOSE } from '../../shared/protocol.js'
import { keepAlive } from './ws-keepalive.js'

/** A close frame carries at most 123 bytes of reason (RFC 6455 §5.5): cut on a character boundary. */
export function closeFrameReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason
  let out = ''
  for (const character of reason) {
    if (Buffer.byteLength(out + character) > 120) break
    out += character
  }
  return `${out}…`
}

/** Pause the TCP side when this much is queued on the WebSocket; resume below the low mark. */
const HIGH_WATER = 1024 * 1024
const LOW_WATER = 256 * 1024

export interface TunnelStats {
  bytesUp: number
  bytesDown: number
  closeCode: number
  closeReason: string
}

export interface TunnelBridge {
  close(code: number, reason: string): void
  /** Bytes carried so far: up = client to target, down = target to client. */
  bytes(): { up: number; down: number }
}

/**
 * Pipes binary WebSocket messages to a TCP socket and back with backpressure both ways: the TCP socket is
 * paused while the WebSocket's bufferedAmount is high, and the WebSocket is paused while the TCP socket's
 * write buffer is full. Pings every `keepaliveMs`; a peer that misses a pong is cut off. `onClose` runs once.
 */
export function bridgeWebSocketToTcp(ws: WebSocket, tcp: Socket, options: { keepaliveMs: number; onClose: (stats: TunnelStats) => void }): TunnelBridge {
  let bytesUp = 0
  let bytesDown = 0
  let finished = false
  let closeCode: number = TUNNEL_CLOSE.NORMAL
  let closeReason = ''

  const finish = (): void => {
    if (finished) return
    finished = true
    keepalive.stop()
    tcp.destroy()
    options.onClose({ bytesUp, bytesDown, closeCode, closeReason })
  }
  const closeWs = (code: number, reason: string): void => {
    if (ws.readyState === ws.OPEN) {
      closeCode = code
      closeReason = reason
      ws.close(code, closeFrameReason(reason))
    }
  }

  const keepalive = keepAlive(ws, options.keepaliveMs, () => (closeReason = 'keepalive timeout'))

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return closeWs(1003, 'only binary messages are accepted')
    keepalive.seen()
    bytesUp += data.length
    if (!tcp.write(data)) ws.pause()
  })
  tcp.on('drain', () => ws.resume())

  const resumeTcpIfDrained = (): void => {
    if (tcp.isPaused() && ws.bufferedAmount < LOW_WATER) tcp.resume()
  }
  tcp.on('data', (chunk: Buffer) => {
    bytesDown += chunk.length
    ws.send(chunk, { binary: true }, resumeTcpIfDrained)
    if (ws.bufferedAmount > HIGH_WATER) tcp.pause()
  })

  tcp.on('end', () => closeWs(TUNNEL_CLOSE.TARGET_CLOSED, 'target closed the connection'))
  tcp.on('error', () => closeWs(TUNNEL_CLOSE.TARGET_CLOSED, 'target connection failed'))
  tcp.on('close', () => closeWs(TUNNEL_CLOSE.TARGET_CLOSED, 'target closed the connection'))

  ws.on('close', (code: number, reason: Buffer) => {
    if (closeReason === '') {
      closeCode = code
      closeReason = reason.toString() || 'client closed the tunnel'
    }
    // Let what the client sent last reach the target, then end the TCP connection.
    if (tcp.destroyed) return finish()
    tcp.once('close', finish)
    tcp.end()
    setTimeout(finish, 5_000).unref()
  })
  ws.on('error', () => ws.terminate())

  return {
    close(code: number, reason: string): void {
      closeWs(code, reason)
      tcp.destroy()
      // A peer that does not answer the close frame is cut off.
      setTimeout(() => ws.terminate(), 1_000).unref()
    },
    bytes: () => ({ up: bytesUp, down: bytesDown }),
  }
}
