// The raw tunnel's records (src/shared/tunnel-records.ts): whatever way a stream of records is cut into reads,
// the reader hands out the same bytes and the same control records, and refuses what breaks the format.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { trackWrites } from '../../src/shared/read-buffers.js'
import { closeReasonText, closeRecord, controlRecord, MAX_CLOSE_REASON, parseClosePayload, RECORD, RecordReader, recordHeader, type RecordType } from '../../src/shared/tunnel-records.js'

function readAll(chunks: Buffer[]): { data: Buffer; controls: Array<[RecordType, string]>; problem: string | null } {
  const data: Buffer[] = []
  const controls: Array<[RecordType, string]> = []
  const reader = new RecordReader({
    data: (bytes) => void data.push(Buffer.from(bytes)),
    control: (type, payload) => void controls.push([type, payload.toString('hex')]),
  })
  let problem: string | null = null
  for (const chunk of chunks) problem ??= reader.push(chunk)
  return { data: Buffer.concat(data), controls, problem }
}

const record = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((bytes) => ({ type: RECORD.DATA as RecordType, payload: Buffer.from(bytes) })),
  fc.tuple(fc.constantFrom(RECORD.PING, RECORD.PONG), fc.uint8Array({ maxLength: 125 })).map(([type, bytes]) => ({ type: type as RecordType, payload: Buffer.from(bytes) })),
)

describe('RecordReader', () => {
  it('gives the same DATA bytes and control records however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (records, cuts) => {
        const stream = Buffer.concat(records.map(({ type, payload }) => (type === RECORD.DATA ? Buffer.concat([recordHeader(type, payload.length), payload]) : controlRecord(type as 1 | 2, payload))))
        const points = [...new Set(cuts.map((cut) => (stream.length === 0 ? 0 : cut % stream.length)))].sort((a, b) => a - b)
        const chunks = [0, ...points].map((start, i, all) => stream.subarray(start, all[i + 1] ?? stream.length)).filter((chunk) => chunk.length > 0)
        const read = readAll(chunks)
        expect(read.problem).toBeNull()
        expect(read.data.equals(Buffer.concat(records.filter((r) => r.type === RECORD.DATA).map((r) => r.payload)))).toBe(true)
        expect(read.controls).toEqual(records.filter((r) => r.type !== RECORD.DATA).map((r) => [r.type, r.payload.toString('hex')]))
      }),
      { seed: 17, numRuns: 300 },
    )
  })

  it('hands DATA out as views of the chunk it was given, not copies', () => {
    const chunk = Buffer.concat([recordHeader(RECORD.DATA, 5), Buffer.from('hello')])
    let seen: Buffer | undefined
    new RecordReader({ data: (bytes) => void (seen = bytes), control: () => undefined }).push(chunk)
    expect(seen?.buffer).toBe(chunk.buffer)
  })

  it.each([
    ['an unknown type', Buffer.from([4, 0, 0, 0]), /^unknown record type 4$/],
    ['a control record over 125 bytes', Buffer.from([RECORD.CLOSE, 0, 0, 126]), /^a control record of 126 bytes$/],
  ])('refuses %s', (_what, bytes, problem) => {
    expect(readAll([bytes]).problem).toMatch(problem)
  })
})

describe('close records', () => {
  it('carry a code and a reason, cut on a character boundary to what fits', () => {
    const long = 'é'.repeat(200)
    const text = closeReasonText(long)
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_CLOSE_REASON)
    expect(text.endsWith('…')).toBe(true)
    expect(text).not.toContain('\uFFFD')
    const { controls } = readAll([closeRecord(4001, 'session revoked: by an admin')])
    expect(controls).toHaveLength(1)
    expect(parseClosePayload(Buffer.from(controls[0]![1], 'hex'))).toEqual({ code: 4001, reason: 'session revoked: by an admin' })
  })

  it('a CLOSE without a code reads as 1005 (no status), as a WebSocket close frame does', () => {
    expect(parseClosePayload(Buffer.alloc(0))).toEqual({ code: 1005, reason: '' })
  })
})

describe('trackWrites (a pooled read buffer goes back only when nothing holds a view of it)', () => {
  it('releases after the parse and every write, in whatever order they finish, and only once', () => {
    let released = 0
    const writes = trackWrites(() => void released++)
    const first = writes.writeDone()
    const second = writes.writeDone()
    second()
    writes.parsed()
    expect(released).toBe(0)
    first()
    expect(released).toBe(1)
  })

  it('releases at once when the read made no write', () => {
    let released = 0
    trackWrites(() => void released++).parsed()
    expect(released).toBe(1)
  })
})
