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
