import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * Password hashes for local users: `scrypt$N$r$p$<salt base64>$<hash base64>` (standard base64, no padding
 * stripped). `jitssh-server hash-password` prints one; N is a power of two (default 2^15), 32-byte key.
 */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 1 }
const KEY_LENGTH = 32

interface ParsedHash extends ScryptParams {
  salt: Buffer
  hash: Buffer
}

/** The parsed hash, or a sentence saying what is wrong with it (for config validation). */
export function parsePasswordHash(text: string): ParsedHash | string {
  const parts = text.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'expected "scrypt$N$r$p$salt$hash" (from jitssh-server hash-password)'
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
  if (!Number.isInteger(N) || N < 1024 || N > 1 << 20 || (N & (N - 1)) !== 0) return 'scrypt N must be a power of two from 1024 to 1048576'
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return 'scrypt r or p out of range'
  const salt = Buffer.from(parts[4]!, 'base64')
  const hash = Buffer.from(parts[5]!, 'base64')
  if (salt.length < 16 || hash.length !== KEY_LENGTH) return 'salt or hash has the wrong length'
  return { N, r, p, salt, hash }
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const maxmem = 128 * params.N * params.r * 2 + 1024 * 1024
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...params, maxmem }, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16)
  const hash = await derive(password, salt, params)
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$')
}

/** Constant-time comparison of the derived key; false for a malformed hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded)
  if (typeof parsed === 'string') return false
  const candidate = await derive(password, parsed.salt, parsed)
  return timingSafeEqual(candidate, parsed.hash)
}

/** A fixed hash used for unknown user names, so a wrong name costs as much time as a wrong password. */
export const DUMMY_PASSWORD_HASH = `scrypt$${DEFAULT_SCRYPT.N}$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`
