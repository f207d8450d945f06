// The one-line text form of keys and certificates: `type base64-blob [comment]`.
import { SshFormatError, type SshFormatErrorCode } from './errors.js'

export interface KeyLine {
  /** The type named on the line, or null for a bare base64 blob. */
  type: string | null
  blob: Buffer
  comment: string
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** Decodes canonical, padded base64 only; Buffer.from alone would skip bad characters silently. */
export function decodeStrictBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) return null
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64') === text ? bytes : null
}

/**
 * Splits one line into type, blob and comment. Rejects more than one line, over-long input and
 * anything that is not canonical base64 with SshFormatError(code).
 */
export function parseKeyLine(text: string, code: SshFormatErrorCode, what: string, maxChars: number): KeyLine {
  const fail = (reason: string): never => {
    throw new SshFormatError(code, `invalid ${what}: ${reason}`)
  }
  if (text.length > maxChars) fail(`longer than ${maxChars} characters`)
  const line = text.trim()
  if (line === '') fail('empty input')
  if (/[\r\n]/.test(line)) fail('more than one line')
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(line)) fail('control characters')
  const match = /^(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(.*))?$/.exec(line)
  if (!match) return fail('not a key line')
  const [, first = '', second, comment = ''] = match
  if (second === undefined) {
    const bare = decodeStrictBase64(first)
    if (!bare) return fail('expected "type base64 [comment]"')
    return { type: null, blob: bare, comment: '' }
  }
  const blob = decodeStrictBase64(second)
  if (!blob) return fail('the key data is not valid base64')
  return { type: first, blob, comment: comment.trim() }
}
