// The raw tunnel's wire format (`Upgrade: jitssh-tunnel/1` on GET /v1/tunnel): after the HTTP 101 both sides
// send records, each a 4-byte header — type (1 byte), payload length (3 bytes, big-endian) — and the payload:
//
//   DATA   ssh's bytes, exactly as read (one record per read: a header per ~64 KiB, never a copy)
//   PING   up to 125 opaque bytes; the other side answers PONG with the same bytes
//   PONG
//   CLOSE  uint16 code (TUNNEL_CLOSE in protocol.ts, as the WebSocket's close codes) + a UTF-8 reason of at most
//          123 bytes; the sender sends nothing after it and ends its side
//
// A reader never copies DATA: it hands out views of the chunks it was given, a record split over two reads as
// two views. Only control payloads (at most 125 bytes) are gathered.

/** The HTTP Upgrade token of the raw tunnel. */
export const RAW_TUNNEL_PROTOCOL = 'jitssh-tunnel/1'

/** Response header of the 101: the tunnel's id (as in its audit events). */
export const RAW_TUNNEL_ID_HEADER = 'jitssh-tunnel-id'

export const RECORD = { DATA: 0, PING: 1, PONG: 2, CLOSE: 3 } as const
export type RecordType = (typeof RECORD)[keyof typeof RECORD]

export const RECORD_HEADER_BYTES = 4
export const MAX_RECORD_PAYLOAD = 0xffffff
export const MAX_CONTROL_PAYLOAD = 125
/** A close reason's limit in bytes (as a WebSocket close frame's). */
export const MAX_CLOSE_REASON = 123

export function recordHeader(type: RecordType, length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_RECORD_PAYLOAD) throw new RangeError(`record payload of ${length} bytes`)
  const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES)
  header.writeUInt32BE(((type << 24) | length) >>> 0, 0)
  return header
}

/** A whole control record (PING, PONG, CLOSE): header and payload in one buffer. */
export function controlRecord(type: Exclude<RecordType, 0>, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_CONTROL_PAYLOAD) throw new RangeError(`control payload of ${payload.length} bytes`)
  return Buffer.concat([recordHeader(type, payload.length), payload])
}

/** `reason` cut on a character boundary to what a close record carries. */
export function closeReasonText(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON) return reason
  let out = ''
  for (const character of reason) {
    if (Buffer.byteLength(out + character) > MAX_CLOSE_REASON - 3) break
    out += character
  }
  return `${out}…`
}

export function closeRecord(code: number, reason: string): Buffer {
  const text = Buffer.from(closeReasonText(reason), 'utf8')
  const payload = Buffer.allocUnsafe(2 + text.length)
  payload.writeUInt16BE(code & 0xffff, 0)
  text.copy(payload, 2)
  return controlRecord(RECORD.CLOSE, payload)
}

export function parseClosePayload(payload: Buffer): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: '' }
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') }
}

export interface RecordHandlers {
  /** A piece of a DATA record's payload: a view of the chunk given to push() (valid as long as that chunk is). */
  data(bytes: Buffer): void
  /** A whole PING, PONG or CLOSE record. */
  control(type: Exclude<RecordType, 0>, payload: Buffer): void
}

/** Splits a byte stream into records. push() returns a problem (the peer broke the format) or null. */
export class RecordReader {
  private readonly header = Buffer.alloc(RECORD_HEADER_BYTES)
  private headerFill = 0
  private type: RecordType = RECORD.DATA
  /** Payload bytes of the current record still to come; -1 between records. */
  private remaining = -1
  private control: Buffer | null = null
  private controlFill = 0

  constructor(private readonly handlers: RecordHandlers) {}

  push(chunk: Buffer): string | null {
    let at = 0
    const end = chunk.length
    while (at < end) {
      if (this.remaining < 0) {
        let word: number
        if (this.headerFill === 0 && end - at >= RECORD_HEADER_BYTES) {
          word = chunk.readUInt32BE(at)
          at += RECORD_HEADER_BYTES
        } else {
          const take = Math.min(RECORD_HEADER_BYTES - this.headerFill, end - at)
          chunk.copy(this.header, this.headerFill, at, at + take)
          this.headerFill += take
          at += take
          if (this.headerFill < RECORD_HEADER_BYTES) return null
          this.headerFill = 0
          word = this.header.readUInt32BE(0)
        }
        const type = word >>> 24
        const length = word & 0xffffff
        if (type > RECORD.CLOSE) return `unknown record type ${type}`
        this.type = type as RecordType
        if (type !== RECORD.DATA) {
          if (length > MAX_CONTROL_PAYLOAD) return `a control record of ${length} bytes`
          this.control = Buffer.allocUnsafe(length)
          this.controlFill = 0
        }
        this.remaining = length
        if (length === 0) {
          this.complete()
          continue
        }
      }
      const take = Math.min(this.remaining, end - at)
      if (this.type === RECORD.DATA) {
        this.handlers.data(at === 0 && take === end ? chunk : chunk.subarray(at, at + take))
      } else {
        chunk.copy(this.control!, this.controlFill, at, at + take)
        this.controlFill += take
      }
      at += take
      this.remaining -= take
      if (this.remaining === 0) this.complete()
    }
    return null
  }

  private complete(): void {
    this.remaining = -1
    if (this.type === RECORD.DATA) return
    const payload = this.control!
    this.control = null
    this.handlers.control(this.type as Exclude<RecordType, 0>, payload)
  }
}
