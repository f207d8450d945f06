import { JitsshError } from '../../shared/errors.js'
import { parseHostSpec } from '../../ssh/config.js'
import { SshFormatError } from '../../ssh/errors.js'
import { parsePublicKey, type SshPublicKey } from '../../ssh/keys.js'

/**
 * Fields that arrive in requests, validated in one place before they reach policy, a path, a log line or
 * the audit log. Each throws a 400-class JitsshError naming the field.
 */

const MAX_KEY_LENGTH = 4096

/** A host name from a request: lower-case DNS name (or IPv4 literal), no pattern, no port. */
export function requestedHost(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 253) {
    throw new JitsshError('ERR_INVALID_HOSTNAME', 'hostname must be a DNS name of at most 253 characters')
  }
  try {
    return parseHostSpec(value, { allowPattern: false, allowPort: false }).host.toLowerCase()
  } catch (error) {
    if (error instanceof SshFormatError) throw new JitsshError('ERR_INVALID_HOSTNAME', error.message)
    throw error
  }
}

/** A host name or an ssh-style pattern within a rule's hosts (`db-*.prod.example.com`); not only wildcards. */
export function requestedHostOrPattern(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 253) {
    throw new JitsshError('ERR_INVALID_HOSTNAME', 'host must be a DNS name or pattern of at most 253 characters')
  }
  try {
    return parseHostSpec(value, { allowPattern: true, allowPort: false }).host.toLowerCase()
  } catch (error) {
    if (error instanceof SshFormatError) throw new JitsshError('ERR_INVALID_HOSTNAME', error.message)
    throw error
  }
}

/** Never part of a name: C0 and C1 controls (NUL too, which PostgreSQL cannot store), DEL, bidi overrides and isolates, lone surrogates. */
const NOT_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u

/** Whether `text` may be a name (an email, a username, a subject key, an id): nothing of NOT_IN_NAMES. */
export function isPlainName(text: string): boolean {
  return !NOT_IN_NAMES.test(text)
}

/**
 * A name someone typed (the sign-in form's username), safe to count attempts under, to audit and to show:
 * at most `maxLength` characters, each control character, bidi override or lone surrogate as U+FFFD. No
 * configured name has one of those, so a name made safe matches no one, and is refused like any unknown name.
 */
export function typedName(value: unknown, maxLength = 200): string {
  if (typeof value !== 'string') return ''
  return value.trim().toLowerCase().slice(0, maxLength).replace(new RegExp(NOT_IN_NAMES.source, 'gu'), '\ufffd')
}

const MAX_REASON_LENGTH = 1000

/**
 * A person's free text (a reason, a justification): trimmed, at most 1000 characters, no control characters
 * but newlines and tabs, no bidirectional overrides (which make text read differently than it is stored);
 * null when absent or blank.
 */
export function requestedReason(value: unknown): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw new JitsshError('ERR_BAD_REQUEST', 'reason must be text')
  const text = value.replace(/\r\n?/g, '\n').trim()
  if (text === '') return null
  if (text.length > MAX_REASON_LENGTH) throw new JitsshError('ERR_BAD_REQUEST', `reason must be at most ${MAX_REASON_LENGTH} characters`)
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text)) throw new JitsshError('ERR_BAD_REQUEST', 'reason must not contain control characters')
  return text
}

/** A duration in whole seconds from a request body, within [minSeconds, maxSeconds]; milliseconds out. */
export function requestedDurationSeconds(value: unknown, field: string, minSeconds: number, maxSeconds: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minSeconds || value > maxSeconds) {
    throw new JitsshError('ERR_BAD_REQUEST', `${field} must be a whole number of seconds from ${minSeconds} to ${maxSeconds}`)
  }
  return value * 1000
}

/** One OpenSSH public key line: Ed25519 or ECDSA P-256, curve point checked. */
export function requestedPublicKey(value: unknown): SshPublicKey {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new JitsshError('ERR_INVALID_KEY', 'public_key must be one OpenSSH public key line (Ed25519 or ECDSA P-256)')
  }
  try {
    return parsePublicKey(value.trim())
  } catch (error) {
    if (error instanceof SshFormatError) throw new JitsshError('ERR_INVALID_KEY', error.message)
    throw error
  }
}

/** A TCP port from a query string: undefined when absent, else 1-65535. */
export function requestedPort(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,4}$/.test(value) || Number(value) > 65535) {
    throw new JitsshError('ERR_BAD_REQUEST', 'port must be a number from 1 to 65535')
  }
  return Number(value)
}

/** A certificate lifetime asked for, in whole seconds (policy caps it); undefined when absent. */
export function requestedTtl(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 60 || value > 7 * 86_400) {
    throw new JitsshError('ERR_BAD_REQUEST', 'ttl_seconds must be a whole number of seconds from 60 to 604800')
  }
  return value * 1000
}

/** A JSON object body, or ERR_BAD_REQUEST describing the expected `shape`. */
export function requestedObject<T>(value: unknown, shape: string): Partial<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new JitsshError('ERR_BAD_REQUEST', `expected a JSON object ${shape}`)
  return value as Partial<T>
}
