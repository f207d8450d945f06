import { JitsshError } from '../../shared/errors.js'
import { parseHostSpec } from '../../ssh/config.js'
import { SshFormatError } from '../../ssh/errors.js'
import type { SshPublicKey } from '../../ssh/keys.js'
import type { CertificatePlan } from './certificate-plan.js'
import { randomSerial } from './user-certificate.js'

/** valid_after = now - this: a host whose clock runs a little fast is still trusted at once. */
export const HOST_CERTIFICATE_BACKDATE_MS = 5 * 60_000
export const DEFAULT_HOST_CERTIFICATE_VALIDITY = '52w'
const DAY_MS = 86_400_000
/** Five years (1826 days): a host certificate cannot be revoked by jitssh, so it must end. */
export const MAX_HOST_CERTIFICATE_VALIDITY_MS = 1826 * DAY_MS
/** Shorter is almost surely a typo ("52m" for "52w") that would break every host within the hour. */
export const MIN_HOST_CERTIFICATE_VALIDITY_MS = 3_600_000
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }

/** `52w`, `365d`, `12h` → milliseconds, between an hour and five years; ERR_USAGE otherwise. */
export function parseHostCertificateValidity(text: string): number {
  const match = /^(\d{1,6})([smhdw])$/.exec(text.trim())
  if (!match) throw new JitsshError('ERR_USAGE', `--validity ${JSON.stringify(text.slice(0, 40))}: expected a duration like "52w", "365d" or "12h"`)
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!
  if (ms > MAX_HOST_CERTIFICATE_VALIDITY_MS) throw new JitsshError('ERR_USAGE', `--validity ${text}: more than 5 years (at most 1826d or 260w)`)
  if (ms < MIN_HOST_CERTIFICATE_VALIDITY_MS) throw new JitsshError('ERR_USAGE', `--validity ${text}: less than an hour (host certificates are long-lived: e.g. 52w)`)
  return ms
}

/** The names clients will use for the host: validated DNS names or IPv4 literals, lower-case, no patterns or ports, each once. */
export function hostCertificateNames(names: readonly string[]): string[] {
  if (names.length === 0) throw new JitsshError('ERR_USAGE', 'give at least one --hostname')
  const validated = names.map((name) => {
    try {
      return parseHostSpec(name, { allowPattern: false, allowPort: false }).host
    } catch (error) {
      if (error instanceof SshFormatError) throw new JitsshError('ERR_INVALID_HOSTNAME', error.message)
      throw error
    }
  })
  return [...new Set(validated)]
}

/** `jitssh-host:vm.example.com`: sshd logs it, and the audit event names it. */
export function hostCertificateKeyId(firstName: string): string {
  return `jitssh-host:${firstName}`
}

/**
 * Requested (on the command line, validated): the host's key and the names it answers to. Decided here:
 * serial, key id, validity; no critical options or extensions (none apply to hosts).
 */
export type HostCertificatePlan = CertificatePlan<{ publicKey: SshPublicKey; hostnames: string[] }>

/** Everything that goes into a host certificate, before signing. */
export function planHostCertificate(input: { publicKey: SshPublicKey; hostnames: string[]; nowMs: number; validityMs: number }): HostCertificatePlan {
  const first = input.hostnames[0]
  if (first === undefined) throw new Error('refusing to plan a host certificate without names')
  const now = Math.floor(input.nowMs / 1000)
  return {
    requested: { publicKey: input.publicKey, hostnames: [...input.hostnames] },
    decided: {
      type: 'host',
      serial: randomSerial(),
      keyId: hostCertificateKeyId(first),
      principals: [...input.hostnames],
      validAfter: BigInt(now - HOST_CERTIFICATE_BACKDATE_MS / 1000),
      validBefore: BigInt(now + Math.floor(input.validityMs / 1000)),
      criticalOptions: {},
      extensions: [],
    },
  }
}
