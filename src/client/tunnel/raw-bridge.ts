// The byte pump of the raw tunnel (src/shared/tunnel-records.ts) between ssh's stdin/stdout and the socket:
// stdin's reads go out as DATA records (header and bytes in one writev), the server's DATA records go to stdout as
// views of the socket's reads (no copy). stdin is paused while the socket is full, the socket while stdout is.
// Either side ending ends both: stdin EOF → our CLOSE and FIN (forced after CLOSE_GRACE_MS); the server's CLOSE →
// its code and reason (closeOutcome in tunnel.ts says what they mean); a socket gone without one → lost.
import { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import type { Duplex } from 'node:stream'
import { closeRecord, controlRecord, parseClosePayload, RECORD, RecordReader, recordHeader } from '../../shared/tunnel-records.js'
import { movedToPooledReads, trackWrites } from '../../shared/read-buffers.js'
import { releaseSsh, type BridgeResult } from './bridge.js'

const CLOSE_GRACE_MS = 3_000

export function bridgeRaw(upgraded: Duplex, head: Buffer, stdin: Readable, stdout: Writable, options: { keepaliveMs: number; signal: AbortSignal }): Promise<BridgeResult> {
  // The server's bytes are read into reused buffers (as the bastion reads; src/shared/read-buffers.ts) when ssh's
  // stdout is a socket or pipe, whose writes are done with a buffer once their callback runs. A stream that keeps
  // what it is given (a PassThrough in tests) gets the socket's own reads.
  const moved = stdout instanceof Socket && upgraded instanceof Socket ? movedToPooledReads(upgraded) : null
  const socket: Duplex = moved?.socket ?? upgraded
  // ssh's stdin likewise when it is a pipe (under ssh; a terminal stays as it is): each read goes out as it is,
  // and its buffer comes back when the socket's write of it is done.
  const movedStdin = moved !== null && stdin instanceof Socket && !(stdin as { isTTY?: boolean }).isTTY ? movedToPooledReads(stdin, { writable: false }) : null
  const input: Readable = movedStdin?.socket ?? stdin
  return new Promise<BridgeResult>((resolve) => {
    let settled = false
    let stdinEnded = false
    let socketPaused = false
    let alive = true
    let lastError = ''
    let graceTimer: NodeJS.Timeout | undefined

    const finish = (result: BridgeResult) => {
      if (settled) return
      settled = true
      clearInterval(keepalive)
      clearTimeout(graceTimer)
      input.off('data', onStdinData)
      input.off('end', onStdinEnd)
      input.off('error', onStdinEnd)
      stdout.off('error', onStdoutError)
      socket.off('drain', onSocketDrain)
      options.signal.removeEventListener('abort', onAbort)
      socket.destroy()
      releaseSsh(input, stdout, () => resolve(result))
    }

    /** ssh's stdout is full: no more reads of the server until its drain. */
    let stdoutFull = false
    /** During a read's parse: counts one more write of its bytes to stdout and gives that write's callback. */
    let track: (() => () => void) | null = null
    const reader = new RecordReader({
      data(bytes) {
        if (settled) return
        if (stdout.write(bytes, track?.())) return
        stdoutFull = true
        if (socketPaused) return
        socketPaused = true
        // Reads into pooled buffers stop when fromServer() returns false; the socket's own reads by pause().
        if (moved === null) socket.pause()
        stdout.once('drain', () => {
          socketPaused = false
          if (!settled) socket.resume()
        })
      },
      control(type, payload) {
        if (type === RECORD.PING) {
          if (socket.writable) socket.write(controlRecord(RECORD.PONG, payload))
        } else if (type === RECORD.CLOSE) {
          const { code, reason } = parseClosePayload(payload)
          finish(stdinEnded ? { kind: 'eof' } : { kind: 'closed', code, reason })
        }
      },
    })

    /** One read of ssh's stdin as a DATA record; `release` once the socket has taken it. False: the socket is full. */
    const toServer = (chunk: Buffer, release: () => void): boolean => {
      if (!socket.writable) {
        release()
        return true
      }
      socket.cork()
      socket.write(recordHeader(RECORD.DATA, chunk.length))
      const flowing = socket.write(chunk, () => release())
      socket.uncork()
      return flowing
    }
    const onStdinData = (chunk: Buffer) => {
      if (!toServer(chunk, () => undefined)) input.pause()
    }
    const onSocketDrain = () => {
      if (!stdinEnded && !settled) input.resume()
    }
    const onStdinEnd = (error?: Error) => {
      if (stdinEnded) return
      stdinEnded = true
      if (error instanceof Error) lastError = error.message
      if (socket.writable) socket.end(closeRecord(1000, 'client done'))
      graceTimer = setTimeout(() => finish({ kind: 'eof' }), CLOSE_GRACE_MS)
    }
    const onStdoutError = () => {
      // ssh went away: nobody is left to read what the server sends.
      finish({ kind: 'stdout-gone' })
    }
    const onAbort = () => finish({ kind: 'interrupted' })

    /** One read of the server's; `release` once stdout has taken its DATA (at once when it held none). */
    const fromServer = (chunk: Buffer, release: () => void): boolean => {
      alive = true
      if (settled) {
        release()
        return false
      }
      stdoutFull = false
      const writes = trackWrites(release)
      track = writes.writeDone
      // A read holds the end of one record and the start of the next: one write of both to ssh.
      stdout.cork()
      const problem = reader.push(chunk)
      stdout.uncork()
      track = null
      writes.parsed()
      if (problem !== null) finish({ kind: 'lost', detail: `the server broke the tunnel's format (${problem})` })
      return !stdoutFull
    }
    if (moved === null) socket.on('data', (chunk: Buffer) => void fromServer(chunk, () => undefined))
    socket.on('error', (error: Error) => {
      lastError = (error as NodeJS.ErrnoException).code ?? error.message
    })
    const onGone = () => {
      if (stdinEnded) finish({ kind: 'eof' })
      else finish({ kind: 'lost', detail: lastError || 'closed without a close record' })
    }
    socket.on('end', onGone)
    socket.on('close', onGone)

    const keepalive = setInterval(() => {
      if (!alive) {
        finish({ kind: 'lost', detail: `no answer to a keepalive ping within ${Math.round(options.keepaliveMs / 1000)} s` })
        return
      }
      alive = false
      if (socket.writable) socket.write(controlRecord(RECORD.PING))
    }, options.keepaliveMs)

    if (movedStdin === null) input.on('data', onStdinData)
    input.once('end', onStdinEnd)
    input.once('error', onStdinEnd)
    stdout.on('error', onStdoutError)
    socket.on('drain', onSocketDrain)
    if (options.signal.aborted) onAbort()
    else options.signal.addEventListener('abort', onAbort, { once: true })
    // What came with the 101 (the target's banner, perhaps) first; then the socket's own reads.
    if (head.length > 0) fromServer(head, () => undefined)
    if (moved !== null) {
      if (moved.pending !== null) fromServer(moved.pending, () => undefined)
      moved.sink.current = fromServer
    }
    if (movedStdin !== null) {
      if (movedStdin.pending !== null) toServer(movedStdin.pending, () => undefined)
      movedStdin.sink.current = toServer
    }
    input.resume()
    socket.resume()
  })
}
