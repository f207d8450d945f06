import type { FastifyReply, FastifyRequest } from 'fastify'
import { parseCookies, serializeCookie } from '../http/cookies.js'
import { constantTimeEqual, randomToken, sha256Hex } from '../oauth/secrets.js'
import type { SessionStore } from '../store/store.js'
import type { Identity } from './identity.js'

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

/**
 * The browser's login with the server itself (not the CLI's session): an HttpOnly SameSite=Lax cookie
 * holding a random id, stored server-side as a hash. Secure (and `__Host-`) whenever the public URL is https.
 * CSRF: double-submit — a random cookie that every form must echo in `csrf_token`.
 */
export class BrowserSessions {
  readonly sessionCookie: string
  readonly csrfCookie: string

  constructor(
    private readonly sessions: SessionStore,
    private readonly lifetimeMs: number,
    private readonly now: () => number,
    private readonly secure: boolean,
  ) {
    this.sessionCookie = secure ? '__Host-jitssh_session' : 'jitssh_session'
    this.csrfCookie = secure ? '__Host-jitssh_csrf' : 'jitssh_csrf'
  }

  async current(request: FastifyRequest): Promise<Identity | undefined> {
    const value = parseCookies(request.headers.cookie).get(this.sessionCookie)
    if (!value || !TOKEN_SHAPE.test(value)) return undefined
    const row = await this.sessions.getWeb(sha256Hex(value))
    if (!row || row.expiresAt <= this.now()) return undefined
    return row.identity
  }

  /** Starts a fresh browser session (a new id on every login: no fixation). */
  async start(request: FastifyRequest, reply: FastifyReply, identity: Identity): Promise<void> {
    await this.end(request, reply)
    const value = randomToken(32)
    const createdAt = this.now()
    await this.sessions.createWeb({ idHash: sha256Hex(value), identity, createdAt, expiresAt: createdAt + this.lifetimeMs })
    reply.header('set-cookie', serializeCookie(this.sessionCookie, value, { secure: this.secure, maxAgeSeconds: Math.floor(this.lifetimeMs / 1000) }))
  }

  async end(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const value = parseCookies(request.headers.cookie).get(this.sessionCookie)
    if (value && TOKEN_SHAPE.test(value)) {
      await this.sessions.deleteWeb(sha256Hex(value))
      reply.header('set-cookie', serializeCookie(this.sessionCookie, '', { secure: this.secure, maxAgeSeconds: 0 }))
    }
  }

  /** The CSRF token for a form on this page; sets the cookie when the browser has none yet. */
  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    const existing = parseCookies(request.headers.cookie).get(this.csrfCookie)
    if (existing && TOKEN_SHAPE.test(existing)) return existing
    const token = randomToken(32)
    reply.header('set-cookie', serializeCookie(this.csrfCookie, token, { secure: this.secure, sameSite: 'Strict' }))
    return token
  }

  verifyCsrf(request: FastifyRequest, submitted: unknown): boolean {
    const cookie = parseCookies(request.headers.cookie).get(this.csrfCookie)
    return typeof submitted === 'string' && cookie !== undefined && TOKEN_SHAPE.test(cookie) && constantTimeEqual(cookie, submitted)
  }
}
