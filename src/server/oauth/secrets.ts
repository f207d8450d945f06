import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A random opaque token: `bytes` random bytes, base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/**
 * A random id people pass to the CLI (a session's, a recording's): base64url that never starts with '-', which
 * the CLI would take for an option (`jitssh recordings export -x1…` failed 1 time in 64).
 */
export function randomId(bytes: number): string {
  for (;;) {
    const id = randomToken(bytes)
    if (!id.startsWith('-')) return id
  }
}

/** How secrets are stored and looked up: SHA-256, hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
