import { createHash } from 'node:crypto'
import type { SshPublicKey } from '../../ssh/keys.js'
import { buildKrl } from '../../ssh/krl.js'
import type { Store } from '../store/store.js'

export interface RevocationKrl {
  bytes: Buffer
  /** The KRL's krl_version: the time (Unix ms) of the newest revocation, disable or enable; 0 when none. */
  version: number
  /** How many certificates it revokes. */
  revoked: number
  /** Changes exactly when the revoked set or the version does (the bytes also carry the generation time). */
  etag: string
}

/**
 * The KRL for sshd's `RevokedKeys`: every certificate of the user CA that is still valid and belongs to a
 * revoked session or a disabled user, by serial. Expired certificates drop out (sshd refuses them anyway).
 */
export async function buildRevocationKrl(store: Pick<Store, 'certificates'>, userCa: SshPublicKey, nowMs: number): Promise<RevocationKrl> {
  const { serials, version } = await store.certificates.listRevoked(Math.floor(nowMs / 1000))
  // OpenSSH refuses a KRL that revokes serial 0; jitssh never issues it (serials are random and non-zero).
  const revoked = serials.map((serial) => BigInt(serial)).filter((serial) => serial > 0n)
  const bytes = buildKrl({
    version: BigInt(version),
    generatedAt: new Date(nowMs),
    comment: 'jitssh revoked certificates',
    sections: revoked.length > 0 ? [{ ca: userCa, serials: revoked, keyIds: [] }] : [],
  })
  const digest = createHash('sha256').update(`${version}\n${serials.join('\n')}`).digest('base64url').slice(0, 22)
  return { bytes, version, revoked: revoked.length, etag: `"krl-${version}-${digest}"` }
}
