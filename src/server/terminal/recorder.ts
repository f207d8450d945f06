import { createHash, type Hash } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { StringDecoder } from 'node:string_decoder'
import { asciicastEventLine, asciicastHeaderLine } from '../../shared/asciicast.js'
import type { RecordingRow, RecordingStore } from '../store/store.js'

/** A chunk goes to the store once this much text is buffered (or after FLUSH_MS). */
export const RECORDING_CHUNK_BYTES = 64 * 1024
const FLUSH_MS = 1_000

export interface FinishedRecording {
  id: string
  /** Bytes of the .cast file. */
  size: number
  sha256: string
  durationMs: number
}

/**
 * Writes one terminal session as asciicast v2 into the store, as it happens: the header is chunk 0, then
 * events ("o" output, "r" resize, "i" input only when asked) go out in chunks of about RECORDING_CHUNK_BYTES,
 * one write at a time, in order. `bufferedBytes()` is what is held in memory (the terminal pauses its output
 * while it is high, so memory stays bounded however slow the store is). The SHA-256 and size are of the
 * exact bytes stored; output is decoded as UTF-8 across chunk boundaries (a character split between two reads
 * is written whole).
 */
export class Recorder {
  private buffer: string[] = []
  private bufferBytes = 0
  private inFlightBytes = 0
  private seq = 0
  private size = 0
  private readonly hash: Hash = createHash('sha256')
  private writes: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private readonly started = performance.now()
  private readonly decoder = new StringDecoder('utf8')
  private failure: unknown
  private readonly drainListeners: Array<() => void> = []
  private readonly failureListeners: Array<(error: unknown) => void> = []

  private constructor(
    private readonly store: Pick<RecordingStore, 'append' | 'finish'>,
    readonly row: RecordingRow,
    private readonly now: () => number,
  ) {}

  /** Creates the recording and writes its header, before any byte of the session is carried. */
  static async start(store: Pick<RecordingStore, 'create' | 'append' | 'finish'>, row: RecordingRow, title: string, now: () => number): Promise<Recorder> {
    await store.create(row)
    const recorder = new Recorder(store, row, now)
    recorder.queue(asciicastHeaderLine({ version: 2, width: row.width, height: row.height, timestamp: Math.floor(row.startedAt / 1000), title, env: { TERM: 'xterm-256color' } }))
    recorder.flush()
    await recorder.writes
    if (recorder.failure !== undefined) throw recorder.failure
    return recorder
  }

  output(bytes: Buffer): void {
    const text = this.decoder.write(bytes)
    if (text !== '') this.event('o', text)
  }

  input(text: string): void {
    if (text !== '') this.event('i', text)
  }

  resize(cols: number, rows: number): void {
    this.event('r', `${cols}x${rows}`)
  }

  /** Text held in memory: buffered and being written. */
  bufferedBytes(): number {
    return this.bufferBytes + this.inFlightBytes
  }

  /** Runs after each chunk is stored (the terminal may resume its output). */
  onDrain(listener: () => void): void {
    this.drainListeners.push(listener)
  }

  /** Runs once if a write fails: the recording is incomplete, and the terminal must end. */
  onFailure(listener: (error: unknown) => void): void {
    this.failureListeners.push(listener)
  }

  /** Writes what is left, then the size, SHA-256 and duration. */
  async finish(): Promise<FinishedRecording> {
    const rest = this.decoder.end()
    if (rest !== '') this.event('o', rest)
    this.flush()
    await this.writes
    if (this.failure !== undefined) throw this.failure
    const result = { id: this.row.id, size: this.size, sha256: this.hash.digest('hex'), durationMs: Math.round(performance.now() - this.started) }
    await this.store.finish(this.row.id, { endedAt: this.now(), durationMs: result.durationMs, size: result.size, sha256: result.sha256 })
    return result
  }

  private event(type: 'o' | 'i' | 'r', data: string): void {
    this.queue(asciicastEventLine((performance.now() - this.started) / 1000, type, data))
    if (this.bufferBytes >= RECORDING_CHUNK_BYTES) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref()
  }

  private queue(line: string): void {
    this.buffer.push(line)
    this.bufferBytes += Buffer.byteLength(line)
  }

  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.buffer.length === 0 || this.failure !== undefined) return
    const data = this.buffer.join('')
    const bytes = this.bufferBytes
    const seq = this.seq++
    this.buffer = []
    this.bufferBytes = 0
    this.inFlightBytes += bytes
    this.hash.update(data, 'utf8')
    this.size += bytes
    this.writes = this.writes.then(async () => {
      if (this.failure !== undefined) return
      try {
        await this.store.append(this.row.id, seq, data)
      } catch (error) {
        this.failure = error
        for (const listener of this.failureListeners) listener(error)
        return
      } finally {
        this.inFlightBytes -= bytes
      }
      for (const listener of this.drainListeners) listener()
    })
  }
}
