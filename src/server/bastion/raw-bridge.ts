import type { Socket } from 'node:net'
import { TUNNEL_CLOSE } from '../../shared/protocol.js'
import { closeRecord, controlRecord, parseClosePayload, RECORD, RecordReader, recordHeader } from '../../shared/tunnel-records.js'
import type { TunnelBridge, TunnelStats } from './tcp-bridge.js'
import { keepPeerAlive } from './ws-keepalive.js'
import { trackWrites, type PooledReadSink } from '../../shared/read-buffers.js'

/** After our CLOSE (or the target's end), the client has this long to end its side before it is cut off. */
const CLOSE_GRACE_MS = 1_000
/** After the client's CLOSE, what it sent last may take this long to reach the target. */
const TARGET_END_MS = 5_000

/**
 * The raw tunnel (`Upgrade: jitssh-tunnel/1`, src/shared/tunnel-records.ts) between the client's socket and
 * the target's: ssh's bytes go to the target as they arrive in DATA records (views of the socket's reads, no
 * copy) and come back one DATA record per read of the target (header and bytes in one writev). Backpressure both
 * ways: a socket whose peer is full pauses the other until `drain`. Pings every `keepaliveMs`; a client that
 * answered nothing since the last is cut off. `close(code, reason)` sends a CLOSE record the client prints;
 * the target's end is CLOSE 4000. `onClose` runs once, when the client's socket has closed.
 */
export interface RawBridgeOptions {
  keepaliveMs: number
  onClose: (stats: TunnelStats) => void
  /** The target socket reads into pooled buffers (pooledReads): its bytes come here. */
  tcpReads?: { current: PooledReadSink | null }
  /** The client socket reads into pooled buffers (movedToPooledReads), `pending` first. */
  clientReads?: { sink: { current: PooledReadSink | null }; pending: Buffer | null }
}

export function bridgeRawTunnelToTcp(client: Socket, tcp: Socket, options: RawBridgeOptions): TunnelBridge {
  let bytesUp = 0
  let bytesDown = 0
  let finished = false
  /** We sent CLOSE (or the client did): no more DATA goes to the client. */
  let closing = false
  let closeCode: number = TUNNEL_CLOSE.NORMAL
  let closeReason = ''
  let clientEnded = false
  let cutOff: NodeJS.Timeout | undefined

  const finish = (): void => {
    if (finished) return
    finished = true
    keepalive.stop()
    clearTimeout(cutOff)
    tcp.destroy()
    client.destroy()
    // Gone without a CLOSE record or a FIN (a reset, a cut-off): as a WebSocket closed without a close frame.
    if (closeReason === '') {
      closeCode = 1006
      closeReason = 'client closed the tunnel'
    }
    options.onClose({ bytesUp, bytesDown, closeCode, closeReason })
  }
  /** Our CLOSE record, then our side ends; the client's FIN (or the grace) closes the socket. */
  const sendClose = (code: number, reason: string): void => {
    if (closing) return
    closing = true
    closeCode = code
    closeReason = reason
    if (client.writable) client.end(closeRecord(code, reason))
    cutOff = setTimeout(() => client.destroy(), CLOSE_GRACE_MS)
    cutOff.unref()
  }
  /** The client is done (its CLOSE, or its FIN): let what it sent reach the target, then end the tunnel. */
  const clientDone = (code: number, reason: string): void => {
    if (clientEnded) return
    clientEnded = true
    if (closeReason === '') {
      closeCode = code
      closeReason = reason || 'client closed the tunnel'
    }
    closing = true
    if (tcp.destroyed) return void client.end()
    tcp.once('close', () => client.end())
    tcp.end()
    setTimeout(() => client.destroy(), TARGET_END_MS).unref()
  }

  const keepalive = keepPeerAlive(
    { ping: () => void (client.writable && !closing && client.write(controlRecord(RECORD.PING))), terminate: () => client.destroy() },
    options.keepaliveMs,
    () => void (closeReason ||= 'keepalive timeout'),
  )

  /** The target is full: stop reading the client until its drain. */
  let targetFull = false
  /** During a read's parse: counts one more write of its bytes and gives that write's callback. */
  let track: (() => () => void) | null = null
  const reader = new RecordReader({
    data(bytes) {
      if (closing) return
      bytesUp += bytes.length
      if (!tcp.write(bytes, track?.())) targetFull = true
    },
    control(type, payload) {
      if (type === RECORD.PING) {
        if (client.writable && !closing) client.write(controlRecord(RECORD.PONG, payload))
      } else if (type === RECORD.CLOSE) {
        const { code, reason } = parseClosePayload(payload)
        clientDone(code, reason)
      }
    },
  })
  /** One read of the client; `release` once the target has taken its DATA (at once when it held none). */
  const up = (chunk: Buffer, release: () => void): boolean => {
    keepalive.seen()
    targetFull = false
    const writes = trackWrites(release)
    track = writes.writeDone
    // A read holds the end of one record and the start of the next: their bytes go to the target in one writev.
    tcp.cork()
    const problem = reader.push(chunk)
    tcp.uncork()
    track = null
    writes.parsed()
    if (problem !== null) {
      sendClose(1002, `protocol error: ${problem}`)
      tcp.destroy()
    }
    return !targetFull
  }
  if (options.clientReads) {
    // The client's reads go into pooled buffers too (read-buffers.ts movedToPooledReads).
    if (options.clientReads.pending) up(options.clientReads.pending, () => undefined)
    options.clientReads.sink.current = up
    client.resume()
  } else {
    client.on('data', (chunk: Buffer) => {
      if (!up(chunk, () => undefined)) client.pause()
    })
  }
  tcp.on('drain', () => client.resume())

  /** One DATA record per read of the target; false: the client is full (the target waits for its drain). */
  const down = (bytes: Buffer, written?: () => void): boolean => {
    if (closing) {
      written?.()
      return true
    }
    bytesDown += bytes.length
    client.cork()
    client.write(recordHeader(RECORD.DATA, bytes.length))
    const flowing = client.write(bytes, written)
    client.uncork()
    return flowing
  }
  if (options.tcpReads) {
    // Reads into pooled buffers: a buffer goes back once the client's socket has taken its bytes.
    options.tcpReads.current = down
    tcp.resume()
  } else {
    tcp.on('data', (chunk: Buffer) => {
      if (!down(chunk)) tcp.pause()
    })
  }
  client.on('drain', () => tcp.resume())

  tcp.on('end', () => sendClose(TUNNEL_CLOSE.TARGET_CLOSED, 'target closed the connection'))
  tcp.on('error', () => sendClose(TUNNEL_CLOSE.TARGET_CLOSED, 'target connection failed'))
  tcp.on('close', () => sendClose(TUNNEL_CLOSE.TARGET_CLOSED, 'target closed the connection'))

  // The client's FIN without a CLOSE record (a client that exited): as its CLOSE without a code.
  client.on('end', () => clientDone(1005, ''))
  client.on('error', () => client.destroy())
  client.on('close', finish)

  return {
    close(code: number, reason: string): void {
      sendClose(code, reason)
      tcp.destroy()
    },
    bytes: () => ({ up: bytesUp, down: bytesDown }),
  }
}
