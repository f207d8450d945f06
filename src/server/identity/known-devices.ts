import { createHmac, hkdfSync, type KeyObject } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { parseCookies, serializeCookie } from '../http/cookies.js'
import { constantTimeEqual } from '../oauth/secrets.js'

const LIFETIME_MS = 180 * 86_400_000

/**
 * A signed cookie that says "this browser signed in as USER before" (OWASP's device cookies): the login
 * throttle lets it past the delay that others' guessing puts on USER. HMAC key derived from keys_dir.
 */
export class KnownDevices {
  private readonly key: Buffer
  readonly cookie: string

  constructor(signingKey: KeyObject, private readonly secure: boolean, private readonly now: () => number) {
    this.key = Buffer.from(hkdfSync('sha256', signingKey.export({ format: 'der', type: 'pkcs8' }), 'jitssh', 'known-device cookies v1', 32))
    this.cookie = secure ? '__Host-jitssh_device' : 'jitssh_device'
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url')
  }

  /** True when the browser holds a valid cookie for `username`. */
  knows(request: FastifyRequest, username: string): boolean {
    const value = parseCookies(request.headers.cookie).get(this.cookie)
    const [user, issued, mac] = value?.split('.') ?? []
    if (!user || !issued || !mac || !/^\d{1,13}$/.test(issued)) return false
    if (!constantTimeEqual(this.mac(`${user}.${issued}`), mac)) return false
    return Buffer.from(user, 'base64url').toString('utf8') === username.toLowerCase() && this.now() - Number(issued) < LIFETIME_MS
  }

  /** Remembers that this browser signed in as `username`. */
  remember(reply: FastifyReply, username: string): void {
    const payload = `${Buffer.from(username.toLowerCase()).toString('base64url')}.${this.now()}`
    reply.header('set-cookie', serializeCookie(this.cookie, `${payload}.${this.mac(payload)}`, { secure: this.secure, maxAgeSeconds: LIFETIME_MS / 1000, sameSite: 'Strict' }))
  }
}
