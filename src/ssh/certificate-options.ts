// Critical options and extensions of OpenSSH certificates (PROTOCOL.certkeys): a sequence of
// `string name, string data` tuples, each name once, in lexical (byte) order. A critical option's data
// is a string wrapped inside the data string; the extensions we write carry empty data.
import { SshFormatError } from './errors.js'
import { SshReader, SshWriter } from './wire.js'

const UNSAFE_TEXT = /[\x00-\x1f\x7f]/

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

function invalid(reason: string): never {
  throw new SshFormatError('ERR_INVALID_CERTIFICATE', `invalid certificate: ${reason}`)
}

/** Names and values go into sshd's logs and ssh-keygen's output: no control characters, no NUL. */
export function checkCertificateText(value: string, field: string, { allowEmpty = false } = {}): string {
  if (!allowEmpty && value === '') invalid(`${field} is empty`)
  if (UNSAFE_TEXT.test(value)) invalid(`${field} contains a control character`)
  return value
}

function encodeTuples(tuples: Array<[string, Buffer]>, what: string): Buffer {
  const sorted = [...tuples].sort(([a], [b]) => byteOrder(a, b))
  const writer = new SshWriter()
  sorted.forEach(([name, data], i) => {
    checkCertificateText(name, `${what} name`)
    if (i > 0 && sorted[i - 1]?.[0] === name) invalid(`${what} "${name}" appears twice`)
    writer.string(name).string(data)
  })
  return writer.toBuffer()
}

export function encodeCriticalOptions(options: Record<string, string>): Buffer {
  const tuples = Object.entries(options).map(([name, value]): [string, Buffer] => {
    checkCertificateText(value, `critical option "${name}"`, { allowEmpty: true })
    return [name, new SshWriter().string(value).toBuffer()]
  })
  return encodeTuples(tuples, 'critical option')
}

export function encodeExtensions(names: string[]): Buffer {
  return encodeTuples(
    names.map((name): [string, Buffer] => [name, Buffer.alloc(0)]),
    'extension',
  )
}

/** Reads tuples from a whole section; names must be strictly increasing (sorted, no repeats). */
function decodeTuples(section: Buffer, what: string): Array<[string, Buffer]> {
  const reader = new SshReader(section, 'ERR_INVALID_CERTIFICATE', 'certificate')
  const tuples: Array<[string, Buffer]> = []
  while (reader.remaining > 0) {
    const name = reader.text(`${what} name`)
    const data = reader.string(`${what} data`)
    const previous = tuples[tuples.length - 1]
    if (previous && byteOrder(previous[0], name) >= 0) reader.fail(`${what}s are not in sorted order or repeat "${name}"`)
    tuples.push([name, data])
  }
  return tuples
}

export function decodeCriticalOptions(section: Buffer): Record<string, string> {
  const entries = decodeTuples(section, 'critical option').map(([name, data]): [string, string] => {
    if (data.length === 0) return [name, '']
    const inner = new SshReader(data, 'ERR_INVALID_CERTIFICATE', 'certificate')
    const value = inner.text(`critical option "${name}"`)
    inner.end()
    return [name, value]
  })
  // Object.fromEntries defines own properties, so a hostile "__proto__" name cannot touch the prototype.
  return Object.fromEntries(entries)
}

/** Extension names. Data, which only custom extensions carry, is not kept. */
export function decodeExtensions(section: Buffer): string[] {
  return decodeTuples(section, 'extension').map(([name]) => name)
}
