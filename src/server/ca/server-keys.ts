import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose'
import { JitsshError } from '../../shared/errors.js'
import { encodePrivateKey, formatPublicKey, generateKeyPair, parsePrivateKey, type SshKeyPair } from '../../ssh/keys.js'
import { keyPairSigner, type Signer } from '../../ssh/signer.js'

/** File names inside keys_dir. */
export const KEY_FILES = {
  userCa: 'user_ca',
  hostCa: 'host_ca',
  tokenSigning: 'token_signing_key.pem',
} as const

export interface TokenSigningKey {
  privateKey: KeyObject
  publicKey: KeyObject
  /** RFC 7638 thumbprint, the JWT `kid`. */
  kid: string
  publicJwk: JWK
}

export interface ServerKeys {
  /** Signs user certificates (keys_dir/user_ca, in this process). */
  userCa: Signer
  /** Signs host certificates (keys_dir/host_ca). */
  hostCa: Signer
  /** `ssh-ed25519 AAAA... jitssh-user-ca`, as published in discovery and for TrustedUserCAKeys. */
  userCaLine: string
  hostCaLine: string
  tokenSigning: TokenSigningKey
}

/** A key file's bytes; refused when it is missing or other users may read it (as sshd refuses open keys). */
export function readSecretFile(path: string): Buffer {
  let mode: number
  try {
    mode = statSync(path).mode
  } catch {
    throw new JitsshError('ERR_INVALID_CONFIG', `${path}: key file is missing (run: jitssh-server init)`)
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new JitsshError('ERR_INVALID_CONFIG', `${path}: permissions ${(mode & 0o777).toString(8)} are too open (run: chmod 600 ${path})`)
  }
  return readFileSync(path)
}

function loadSshKey(path: string): SshKeyPair {
  try {
    return parsePrivateKey(readSecretFile(path).toString('utf8'))
  } catch (error) {
    if (error instanceof JitsshError) throw error
    throw new JitsshError('ERR_INVALID_CONFIG', `${path}: not an unencrypted OpenSSH Ed25519/ECDSA private key (${(error as Error).message})`)
  }
}

/** An Ed25519 private key from a PEM key file (as readSecretFile checks it); `what` names it in errors. */
export function readEd25519KeyFile(path: string, what: string): KeyObject {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(readSecretFile(path))
  } catch (error) {
    if (error instanceof JitsshError) throw error
    throw new JitsshError('ERR_INVALID_CONFIG', `${path}: not a PEM private key`)
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new JitsshError('ERR_INVALID_CONFIG', `${path}: ${what} must be Ed25519`)
  return privateKey
}

async function loadTokenSigningKey(path: string): Promise<TokenSigningKey> {
  const privateKey = readEd25519KeyFile(path, 'the token-signing key')
  const publicKey = createPublicKey(privateKey)
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { privateKey, publicKey, kid, publicJwk: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } }
}

export async function loadServerKeys(keysDir: string): Promise<ServerKeys> {
  const userCa = loadSshKey(join(keysDir, KEY_FILES.userCa))
  const hostCa = loadSshKey(join(keysDir, KEY_FILES.hostCa))
  return {
    userCa: keyPairSigner(userCa),
    hostCa: keyPairSigner(hostCa),
    userCaLine: formatPublicKey(userCa.publicKey, 'jitssh-user-ca'),
    hostCaLine: formatPublicKey(hostCa.publicKey, 'jitssh-host-ca'),
    tokenSigning: await loadTokenSigningKey(join(keysDir, KEY_FILES.tokenSigning)),
  }
}

/** Writes fresh CA and token-signing keys (0600, directory 0700). Refuses when any of them exists. */
export function generateServerKeys(keysDir: string): string[] {
  const paths = [KEY_FILES.userCa, KEY_FILES.hostCa, KEY_FILES.tokenSigning].map((name) => join(keysDir, name))
  const existing = paths.filter((path) => existsSync(path))
  if (existing.length > 0) {
    throw new JitsshError('ERR_CONFIG_CONFLICT', `${existing[0]} already exists: refusing to overwrite keys`, {
      hint: 'move the old keys away first if you really mean to replace the CA',
    })
  }
  mkdirSync(keysDir, { recursive: true, mode: 0o700 })
  const written: string[] = []
  for (const [name, comment] of [[KEY_FILES.userCa, 'jitssh-user-ca'], [KEY_FILES.hostCa, 'jitssh-host-ca']] as const) {
    const pair = generateKeyPair('ssh-ed25519', comment)
    writeFileSync(join(keysDir, name), encodePrivateKey(pair, comment), { mode: 0o600, flag: 'wx' })
    writeFileSync(join(keysDir, `${name}.pub`), `${formatPublicKey(pair.publicKey, comment)}\n`, { mode: 0o644, flag: 'wx' })
    written.push(join(keysDir, name), join(keysDir, `${name}.pub`))
  }
  const { privateKey } = generateKeyPairSync('ed25519')
  writeFileSync(join(keysDir, KEY_FILES.tokenSigning), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600, flag: 'wx' })
  written.push(join(keysDir, KEY_FILES.tokenSigning))
  return written
}
