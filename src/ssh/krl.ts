// CONTRACT STUB — to be implemented (issue 2).
import type { SshPublicKey } from './keys.js'

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

/** An OpenSSH KRL (PROTOCOL.krl), unsigned, for sshd's RevokedKeys and `ssh-keygen -Q`. */
export declare function buildKrl(input: KrlInput): Buffer
