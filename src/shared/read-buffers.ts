import { Socket as NetSocket, type OnReadOpts, type Socket } from 'node:net'

/** A read that filled its buffer says more is waiting: the next read gets a big buffer. */
export const BIG_READ = 64 * 1024
/** An idle or interactive connection holds only a small one while it waits. */
export const SMALL_READ = 2 * 1024
const KEEP_BIG = 32
const KEEP_SMALL = 1024

/**
 * Buffers that sockets read into (net.connect's `onread`), given back once what was read has been written on.
 * Node otherwise allocates a fresh 64 KiB ArrayBuffer for every read: at hundreds of MB/s that churn of external
 * memory makes V8 run a full mark-compact of the whole server heap every few tens of MB (measured: a third of the
 * server's CPU on a bulk transfer), and malloc hands the memory back and faults it in again. Reused buffers cost
 * neither. Buffers are sized by what the last read said: a connection that waits holds a small one.
 */
export class ReadBufferPool {
  private readonly big: Buffer[] = []
  private readonly small: Buffer[] = []

  take(size: number): Buffer {
    const free = size === BIG_READ ? this.big : this.small
    return free.pop() ?? Buffer.allocUnsafeSlow(size)
  }

  give(buffer: Buffer): void {
    if (buffer.length === BIG_READ) {
      if (this.big.length < KEEP_BIG) this.big.push(buffer)
    } else if (buffer.length === SMALL_READ && this.small.length < KEEP_SMALL) this.small.push(buffer)
  }
}

export const readBuffers = new ReadBufferPool()

/**
 * Where a pooled socket's bytes go: `bytes` is valid until `release()` is called, which must happen once, after
 * the bytes were written on (a write's callback). Returning false pauses the socket (its peer is full).
 */
export type PooledReadSink = (bytes: Buffer, release: () => void) => boolean

/** The `onread` option of a socket whose reads go to `sink()` (set it before the socket is resumed). */
export function pooledReads(pool: ReadBufferPool = readBuffers): { onread: OnReadOpts; sink: { current: PooledReadSink | null } } {
  const sink: { current: PooledReadSink | null } = { current: null }
  let nextSize = SMALL_READ
  return {
    sink,
    onread: {
      buffer: () => pool.take(nextSize),
      callback: (bytes: number, buffer: Uint8Array): boolean => {
        const read = buffer as Buffer
        nextSize = bytes === read.length ? BIG_READ : SMALL_READ
        const to = sink.current
        if (to === null) {
          // Nobody listens (yet): a paused socket never reads, so this is a race with a pause; keep nothing.
          pool.give(read)
          return false
        }
        let released = false
        return to(read.subarray(0, bytes), () => {
          if (released) return
          released = true
          pool.give(read)
        })
      },
    },
  }
}

/** What net.Socket keeps of a connection that can move to another Socket object (not public API: see below). */
interface MovableHandle {
  readStop(): number
  useUserBuffer(buffer: Uint8Array): void
}

/**
 * The same connection as `socket` (one Node made, which therefore has no `onread`: an upgraded request's socket,
 * the ProxyCommand's, a piped stdin), now read into pooled buffers: its handle moves to a new net.Socket made with
 * `onread`. `pending` is what `socket` had already read. `socket` stays as the connection's old face, without a
 * handle: it closes when the new one does (the bastion's per-address connection count listens there).
 * `writable: false` for a read-only stream such as stdin. Uses `socket._handle` and net.Socket's `handle` option,
 * which Node does not document: where they are not as expected (a TLS socket, another Node), null, and the caller
 * reads `socket` as it is.
 */
export function movedToPooledReads(socket: Socket, options: { writable?: boolean } = {}, pool: ReadBufferPool = readBuffers): { socket: Socket; pending: Buffer | null; sink: { current: PooledReadSink | null } } | null {
  const internal = socket as unknown as { _handle: (MovableHandle & Record<string, unknown>) | null; encrypted?: boolean }
  const handle = internal._handle
  if (internal.encrypted === true || handle === null || typeof handle !== 'object' || typeof handle.readStop !== 'function' || typeof handle.useUserBuffer !== 'function') return null
  if (socket.destroyed || socket.readableFlowing === true || socket.writableLength > 0) return null
  const pending = socket.readableLength > 0 ? (socket.read(socket.readableLength) as Buffer | null) : null
  handle.readStop()
  internal._handle = null
  const reads = pooledReads(pool)
  const moved = new NetSocket({ handle, onread: reads.onread, readable: true, writable: options.writable ?? true, pauseOnCreate: true } as unknown as ConstructorParameters<typeof NetSocket>[0])
  moved.once('close', () => socket.destroy())
  return { socket: moved, pending, sink: reads.sink }
}

/**
 * Counts the writes made with the bytes of one pooled read: `writeDone()` for each write (its callback), `parsed()`
 * once the read is handled; `release` runs after the last of them, so the buffer goes back only when nothing holds
 * a view of it (at once when no write was made).
 */
export function trackWrites(release: () => void): { writeDone(): () => void; parsed(): void } {
  let writes = 1
  const written = (): void => {
    if (--writes === 0) release()
  }
  return {
    writeDone: () => {
      writes++
      return written
    },
    parsed: written,
  }
}
