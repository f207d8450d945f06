import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'

const VERSION = 'v1'

/**
 * Encrypts upstream refresh tokens at rest (AES-256-GCM), with a key derived (HKDF) from the token-signing
 * key in keys_dir: someone who reads the database alone cannot use them at the provider.
 */
export class UpstreamSecrets {
  private readonly key: Buffer

  constructor(signingKey: KeyObject) {
    const material = signingKey.export({ format: 'der', type: 'pkcs8' })
    this.key = Buffer.from(hkdfSync('sha256', material, 'jitssh', 'upstream refresh tokens v1', 32))
  }

  seal(plain: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return [VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
  }

  /** The plain text, or undefined when the value was not sealed with this key (or was altered). */
  open(sealed: string): string | undefined {
    const [version, iv, body, tag] = sealed.split('.')
    if (version !== VERSION || !iv || !body || !tag) return undefined
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
    } catch {
      return undefined
    }
  }
}
