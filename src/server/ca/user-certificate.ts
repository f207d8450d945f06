import { randomBytes } from 'node:crypto'
import type { SshPublicKey } from '../../ssh/keys.js'
import type { AccessGrant } from '../policy/policy.js'
import type { SessionRow } from '../store/store.js'
import type { CertificatePlan } from './certificate-plan.js'

/** A random, non-zero unsigned 64-bit serial. */
export function randomSerial(): bigint {
  for (;;) {
    const serial = randomBytes(8).readBigUInt64BE()
    if (serial !== 0n) return serial
  }
}

/** Who holds the key: the CLI (a key on the person's disk) or the browser terminal (a key in the server's memory). */
export type CertificatePurpose = 'cli' | 'web'

/**
 * `jitssh:alice@example.com:sid=<session>:host=vm.example.com:serial=<n>` (`jitssh-web:` for the browser
 * terminal) — ties the sshd log line to the audit event.
 */
export function certificateKeyId(email: string, sessionId: string, host: string, serial: bigint, purpose: CertificatePurpose = 'cli'): string {
  return `${purpose === 'web' ? 'jitssh-web' : 'jitssh'}:${email}:sid=${sessionId}:host=${host}:serial=${serial}`
}

/** Requested: the key and the host (validated); everything else is decided from policy, session and clock. */
export type UserCertificatePlan = CertificatePlan<{ publicKey: SshPublicKey; host: string }>

/**
 * Everything that goes into a user certificate, before signing. Only the key and the host come from the
 * request; principals, lifetime, options and extensions come from the policy grant, the session and the clock.
 */
export function planUserCertificate(input: {
  publicKey: SshPublicKey
  host: string
  session: SessionRow
  grant: AccessGrant
  purpose: CertificatePurpose
  nowMs: number
  backdateMs: number
  /** certificates.direct_access: principals become `login@host`, valid only where that host's sshd lists them. */
  hostBound: boolean
}): UserCertificatePlan {
  const { grant, session } = input
  if (grant.principals.length === 0) throw new Error('refusing to plan a certificate without principals')
  const serial = randomSerial()
  const now = Math.floor(input.nowMs / 1000)
  // Never beyond the session's end, nor past the rule's time window.
  const validBefore = Math.min(now + Math.floor(grant.ttlMs / 1000), Math.floor(session.expiresAt / 1000), grant.until === undefined ? Infinity : Math.floor(grant.until / 1000))
  const criticalOptions: Record<string, string> = {}
  if (grant.sourceAddress) criticalOptions['source-address'] = grant.sourceAddress.join(',')
  return {
    requested: { publicKey: input.publicKey, host: input.host },
    decided: {
      type: 'user',
      serial,
      keyId: certificateKeyId(session.identity.email, session.id, input.host, serial, input.purpose),
      principals: input.hostBound ? grant.principals.map((login) => `${login}@${input.host}`) : [...grant.principals],
      validAfter: BigInt(now - Math.floor(input.backdateMs / 1000)),
      validBefore: BigInt(validBefore),
      criticalOptions,
      extensions: [...grant.extensions].sort(),
    },
  }
}
