// The CA behind a small interface, as smallstep's and ssh-agent's: a public key and "sign these bytes".
// jitssh's own keys sign in-process (keyPairSigner); a KMS, an HSM, an ssh-agent or a separate signing
// process fits the same shape, since the certificate code never sees a private key.
import type { SshKeyPair, SshPublicKey } from './keys.js'
import { signSshData } from './ssh-signature.js'

export interface Signer {
  /** The CA's public key: it goes into every certificate as the signature key. */
  readonly publicKey: SshPublicKey
  /**
   * An SSH signature blob over `data` (`string algorithm, string signature`, RFC 4253 §6.6), as an
   * ssh-agent's SIGN_RESPONSE carries it. May reject (a KMS that is down): nothing is issued then.
   */
  sign(data: Buffer): Promise<Buffer>
}

/** A signer over a private key held in this process. */
export function keyPairSigner(pair: SshKeyPair): Signer {
  return {
    publicKey: pair.publicKey,
    sign: async (data) => signSshData(pair.type, pair.privateKey, data),
  }
}
