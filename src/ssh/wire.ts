// SSH wire encoding (RFC 4251 §5): a bounds-checked reader for hostile bytes and a writer.
// The reader never reads past its end, never allocates from a length it has not checked against the
// bytes that remain (strings are views into the input), and reports every problem as SshFormatError.
import { SshFormatError, type SshFormatErrorCode } from './errors.js'

const UINT64_MAX = (1n << 64n) - 1n
// ignoreBOM keeps a leading U+FEFF as data instead of silently dropping it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export class SshReader {
  private offset = 0

  /**
   * @param input the bytes to read (not copied)
   * @param code the error code every failure is reported with
   * @param what names the structure in messages ("public key", "certificate", ...)
   */
  constructor(
    private readonly input: Buffer,
    private readonly code: SshFormatErrorCode,
    private readonly what: string,
  ) {}

  /** How many bytes have been read. */
  get position(): number {
    return this.offset
  }

  get remaining(): number {
    return this.input.length - this.offset
  }

  fail(reason: string): never {
    throw new SshFormatError(this.code, `invalid ${this.what}: ${reason}`)
  }

  private take(length: number, field: string): Buffer {
    if (length > this.remaining) this.fail(`${field} is truncated`)
    const view = this.input.subarray(this.offset, this.offset + length)
    this.offset += length
    return view
  }

  /** `length` raw bytes (a view), checked against the bytes that remain. */
  bytes(length: number, field = 'bytes'): Buffer {
    return this.take(length, field)
  }

  uint8(field = 'byte'): number {
    return this.take(1, field).readUInt8(0)
  }

  uint32(field = 'uint32'): number {
    return this.take(4, field).readUInt32BE(0)
  }

  uint64(field = 'uint64'): bigint {
    return this.take(8, field).readBigUInt64BE(0)
  }

  /** A length-prefixed byte string: a view into the input, checked against the bytes that remain. */
  string(field = 'string'): Buffer {
    const length = this.uint32(`${field} length`)
    return this.take(length, field)
  }

  /** A string that must be valid UTF-8 without NUL (OpenSSH reads these as C strings). */
  text(field = 'string'): string {
    const raw = this.string(field)
    if (raw.includes(0)) this.fail(`${field} contains a NUL byte`)
    try {
      return strictUtf8.decode(raw)
    } catch {
      return this.fail(`${field} is not valid UTF-8`)
    }
  }

  /** A non-negative mpint in minimal form; returns its unsigned big-endian magnitude (empty for zero). */
  mpint(field = 'mpint'): Buffer {
    const raw = this.string(field)
    if (raw.length === 0) return raw
    const first = raw[0] as number
    if (first & 0x80) this.fail(`${field} is negative`)
    if (first === 0) {
      if (raw.length === 1 || ((raw[1] as number) & 0x80) === 0) this.fail(`${field} is not minimally encoded`)
      return raw.subarray(1)
    }
    return raw
  }

  /** A comma-separated name-list of non-empty names. */
  nameList(field = 'name-list'): string[] {
    const text = this.text(field)
    if (text === '') return []
    const names = text.split(',')
    if (names.some((name) => name === '')) this.fail(`${field} has an empty name`)
    return names
  }

  /** Requires that every byte has been consumed. */
  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} unexpected trailing bytes`)
  }
}

export class SshWriter {
  private readonly parts: Buffer[] = []

  uint8(value: number): this {
    const out = Buffer.alloc(1)
    out.writeUInt8(value)
    this.parts.push(out)
    return this
  }

  uint32(value: number): this {
    const out = Buffer.alloc(4)
    out.writeUInt32BE(value)
    this.parts.push(out)
    return this
  }

  uint64(value: bigint): this {
    if (value < 0n || value > UINT64_MAX) throw new RangeError(`uint64 out of range: ${value}`)
    const out = Buffer.alloc(8)
    out.writeBigUInt64BE(value)
    this.parts.push(out)
    return this
  }

  /** Appends bytes with no length prefix. */
  raw(bytes: Buffer): this {
    this.parts.push(bytes)
    return this
  }

  string(value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    this.uint32(bytes.length)
    this.parts.push(bytes)
    return this
  }

  /** A non-negative integer given as its unsigned big-endian magnitude. */
  mpint(magnitude: Buffer): this {
    let start = 0
    while (start < magnitude.length && magnitude[start] === 0) start++
    const trimmed = magnitude.subarray(start)
    const needsZero = trimmed.length > 0 && ((trimmed[0] as number) & 0x80) !== 0
    return this.string(needsZero ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
  }

  nameList(names: string[]): this {
    return this.string(names.join(','))
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts)
  }
}

/** Unsigned big-endian bytes of exactly `length` bytes (left-padded with zeros); throws when it does not fit. */
export function fixedWidth(magnitude: Buffer, length: number): Buffer {
  let start = 0
  while (start < magnitude.length && magnitude[start] === 0) start++
  const trimmed = magnitude.subarray(start)
  if (trimmed.length > length) throw new RangeError(`value does not fit in ${length} bytes`)
  return Buffer.concat([Buffer.alloc(length - trimmed.length), trimmed])
}
