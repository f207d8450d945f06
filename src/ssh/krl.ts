// OpenSSH key revocation lists (PROTOCOL.krl), unsigned: a header and one KRL_SECTION_CERTIFICATES
// section per CA, revoking certificates by serial and by key id.
import type { SshPublicKey } from './keys.js'
import { SshWriter } from './wire.js'

export interface KrlCaSection {
  /** The CA whose certificates are revoked; null revokes for any CA (OpenSSH allows an empty key). */
  ca: SshPublicKey | null
  serials: bigint[]
  keyIds: string[]
}

export interface KrlInput {
  version: bigint
  generatedAt: Date
  comment?: string
  sections: KrlCaSection[]
}

const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1')
const KRL_FORMAT_VERSION = 1
const KRL_SECTION_CERTIFICATES = 1
const KRL_SECTION_CERT_SERIAL_LIST = 0x20
const KRL_SECTION_CERT_KEY_ID = 0x23
const UINT64_MAX = (1n << 64n) - 1n

/** Serials sorted ascending and without repeats. OpenSSH refuses a KRL that revokes serial 0. */
function sortedSerials(serials: bigint[]): bigint[] {
  for (const serial of serials) {
    if (serial <= 0n || serial > UINT64_MAX) throw new RangeError(`KRL serial must be in 1..2^64-1, not ${serial}`)
  }
  return [...new Set(serials)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function sortedKeyIds(keyIds: string[]): string[] {
  for (const keyId of keyIds) {
    if (keyId === '' || keyId.includes('\0')) throw new RangeError('KRL key id must be non-empty and contain no NUL')
  }
  return [...new Set(keyIds)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
}

function checkComment(comment: string): string {
  if (comment.includes('\0')) throw new RangeError('KRL comment must contain no NUL')
  return comment
}

function certificatesSection(section: KrlCaSection): Buffer {
  const body = new SshWriter().string(section.ca ? section.ca.blob : Buffer.alloc(0)).string('') // ca_key, reserved
  const serials = sortedSerials(section.serials)
  if (serials.length > 0) {
    const list = new SshWriter()
    serials.forEach((serial) => list.uint64(serial))
    body.uint8(KRL_SECTION_CERT_SERIAL_LIST).string(list.toBuffer())
  }
  const keyIds = sortedKeyIds(section.keyIds)
  if (keyIds.length > 0) {
    const list = new SshWriter()
    keyIds.forEach((keyId) => list.string(keyId))
    body.uint8(KRL_SECTION_CERT_KEY_ID).string(list.toBuffer())
  }
  return body.toBuffer()
}

/** An OpenSSH KRL (PROTOCOL.krl), unsigned, for sshd's RevokedKeys and `ssh-keygen -Q`. */
export function buildKrl(input: KrlInput): Buffer {
  const generatedDate = BigInt(Math.floor(input.generatedAt.getTime() / 1000))
  const krl = new SshWriter()
    .raw(KRL_MAGIC)
    .uint32(KRL_FORMAT_VERSION)
    .uint64(input.version)
    .uint64(generatedDate)
    .uint64(0n) // flags: none defined
    .string('') // reserved
    .string(checkComment(input.comment ?? ''))
  for (const section of input.sections) {
    krl.uint8(KRL_SECTION_CERTIFICATES).string(certificatesSection(section))
  }
  return krl.toBuffer()
}
