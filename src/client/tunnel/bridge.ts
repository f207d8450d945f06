// The byte pump between a local stream pair and an open WebSocket. stdin is paused while the socket's
// send buffer is over HIGH_WATER; the WebSocket is paused while stdout is full. Either side ending ends
// both: stdin EOF → a polite close (forced after CLOSE_GRACE_MS); WebSocket close → stdout ends.
import type { Readable, Writable } from 'node:stream'
import type WebSocket from 'ws'

const HIGH_WATER = 1024 * 1024
const LOW_WATER = 256 * 1024
const CLOSE_GRACE_MS = 3_000

export type BridgeResult =
  | { kind: 'eof' }
  | { kind: 'closed'; code: number; reason: string }
  | { kind: 'lost'; detail: string }
  | { kind: 'interrupted' }
  | { kind: 'stdout-gone' }

/**
 * The end of a tunnel on ssh's side (both transports): stop reading its stdin (a pending read would keep the
 * process alive), end its stdout, and call `done` once what is buffered is written (or after 1 s).
 */
export function releaseSsh(stdin: Readable, stdout: Writable, done: () => void): void {
  stdin.pause()
  stdin.destroy()
  stdout.on('error', () => undefined) // EPIPE after the end is nobody's business now
  const flushed = setTimeout(done, 1_000)
  stdout.end(() => {
    clearTimeout(flushed)
    done()
  })
}

export function bridge(ws: WebSocket, stdin: Readable, stdout: Writable, options: { keepaliveMs: number; signal: AbortSignal }): Promise<BridgeResult> {
  return new Promise<BridgeResult>((resolve) => {
    let settled = false
    let stdinEnded = false
    let stdinPaused = false
    let pendingSends = 0
    let wsPaused = false
    let alive = true
    let lastError = ''
    let graceTimer: NodeJS.Timeout | undefined

    const finish = (result: BridgeResult) => {
      if (settled) return
      settled = true
      clearInterval(keepalive)
      clearTimeout(graceTimer)
      stdin.off('data', onStdinData)
      stdin.off('end', onStdinEnd)
      stdin.off('error', onStdinError)
      stdout.off('error', onStdoutError)
      options.signal.removeEventListener('abort', onAbort)
      if (ws.readyState !== ws.CLOSED) ws.terminate()
      releaseSsh(stdin, stdout, () => resolve(result))
    }

    const onStdinData = (chunk: Buffer) => {
      pendingSends++
      ws.send(chunk, { binary: true }, () => {
        pendingSends--
        if (stdinPaused && (pendingSends === 0 || ws.bufferedAmount < LOW_WATER)) {
          stdinPaused = false
          stdin.resume()
        }
      })
      if (!stdinPaused && ws.bufferedAmount >= HIGH_WATER) {
        stdinPaused = true
        stdin.pause()
      }
    }
    const onStdinEnd = () => {
      stdinEnded = true
      if (ws.readyState === ws.OPEN) ws.close(1000, 'client done')
      graceTimer = setTimeout(() => finish({ kind: 'eof' }), CLOSE_GRACE_MS)
    }
    const onStdinError = (error: Error) => {
      lastError = error.message
      if (ws.readyState === ws.OPEN) ws.close(1000, 'client done')
      graceTimer ??= setTimeout(() => finish({ kind: 'eof' }), CLOSE_GRACE_MS)
    }
    const onStdoutError = () => {
      // ssh went away: nobody is left to read what the server sends.
      finish({ kind: 'stdout-gone' })
    }
    const onAbort = () => finish({ kind: 'interrupted' })

    ws.on('message', (data: Buffer) => {
      alive = true
      if (settled) return
      if (!stdout.write(data) && !wsPaused) {
        wsPaused = true
        ws.pause()
        stdout.once('drain', () => {
          wsPaused = false
          if (!settled) ws.resume()
        })
      }
    })
    ws.on('pong', () => {
      alive = true
    })
    ws.on('error', (error) => {
      lastError = (error as NodeJS.ErrnoException).code ?? error.message
    })
    ws.on('close', (code, reason) => {
      if (stdinEnded) finish({ kind: 'eof' })
      else if (code === 1006) finish({ kind: 'lost', detail: lastError || 'closed without a close frame' })
      else finish({ kind: 'closed', code, reason: reason.toString('utf8') })
    })

    const keepalive = setInterval(() => {
      if (!alive) {
        finish({ kind: 'lost', detail: `no answer to a keepalive ping within ${Math.round(options.keepaliveMs / 1000)} s` })
        return
      }
      alive = false
      if (ws.readyState === ws.OPEN) ws.ping()
    }, options.keepaliveMs)

    stdin.on('data', onStdinData)
    stdin.once('end', onStdinEnd)
    stdin.once('error', onStdinError)
    stdout.on('error', onStdoutError)
    if (options.signal.aborted) onAbort()
    else options.signal.addEventListener('abort', onAbort, { once: true })
    stdin.resume()
    ws.resume() // openTunnel paused it until now
  })
}
