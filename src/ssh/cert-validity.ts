// Imports nothing: it is on the ssh-gen fast path, which runs before every `ssh` and must stay cheap.

/** How many length-prefixed strings (or mpints) the subject key occupies in each certificate type. */
const SUBJECT_KEY_STRINGS: Readonly<Record<string, number>> = {
  'ssh-ed25519-cert-v01@openssh.com': 1, // pk
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 2, // curve, Q
  'ssh-rsa-cert-v01@openssh.com': 2, // e, n
}

/**
 * The `valid_before` (Unix seconds) of a `*-cert.pub` file's text, without verifying anything,
 * or null when the text is not a certificate we can read. Cheap: base64 of one line and a few length skips.
 */
export function readValidBefore(text: string): number | null {
  return readValidity(text)?.validBefore ?? null
}

/**
 * `valid_before` and the principals of a `*-cert.pub` file's text, unverified, or null when it is not a
 * certificate we can read: the principals are on the way to `valid_before`, so they cost nothing more.
 */
export function readValidity(text: string): { validBefore: number; principals: string[] } | null {
  const [type, base64] = text.trim().split(/\s+/, 2)
  if (type === undefined || base64 === undefined || !Object.hasOwn(SUBJECT_KEY_STRINGS, type)) return null
  const blob = Buffer.from(base64, 'base64')
  let offset = 0
  const skipString = (): boolean => {
    if (offset + 4 > blob.length) return false
    offset += 4 + blob.readUInt32BE(offset)
    return offset <= blob.length
  }
  // The blob must name the same type as the line.
  if (blob.length < 4 + type.length || blob.readUInt32BE(0) !== type.length || blob.toString('latin1', 4, 4 + type.length) !== type) {
    return null
  }
  offset = 4 + type.length
  const stringsBeforeSerial = 1 + (SUBJECT_KEY_STRINGS[type] as number) // nonce, subject key
  for (let i = 0; i < stringsBeforeSerial; i++) if (!skipString()) return null
  offset += 8 + 4 // serial, certificate type
  if (!skipString()) return null // key id
  // valid principals: a string holding a list of strings
  if (offset + 4 > blob.length) return null
  const end = offset + 4 + blob.readUInt32BE(offset)
  if (end > blob.length) return null
  const principals: string[] = []
  for (let at = offset + 4; at < end; ) {
    if (at + 4 > end) return null
    const length = blob.readUInt32BE(at)
    if (at + 4 + length > end) return null
    principals.push(blob.toString('utf8', at + 4, at + 4 + length))
    at += 4 + length
  }
  offset = end + 8 // valid after
  if (offset + 8 > blob.length) return null
  return { validBefore: Number(blob.readBigUInt64BE(offset)), principals }
}
