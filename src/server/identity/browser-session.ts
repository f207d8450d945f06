import type { FastifyReply, FastifyRequest } from 'fastify'
import { parseCookies, serializeCookie } from '../http/cookies.js'
import { constantTimeEqual, randomToken, sha256Hex } from '../oauth/secrets.js'
import type { SessionStore } from '../store/store.js'
import { isJitsshError } from '../../shared/errors.js'
import type { Identities } from './identities.js'
import type { AuthContext, Identity } from './identity.js'

/** A signed-in browser: the person as they are now, how they authenticated, the session's id hash and end. */
export interface SignedIn {
  identity: Identity
  auth: AuthContext
  idHash: string
  expiresAt: number
}

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
    private readonly identities: Pick<Identities, 'current'>,
    private readonly lifetimeMs: number,
    private readonly now: () => number,
    private readonly secure: boolean,
  ) {
    this.sessionCookie = secure ? '__Host-jitssh_session' : 'jitssh_session'
    this.csrfCookie = secure ? '__Host-jitssh_csrf' : 'jitssh_csrf'
  }

  /**
   * The signed-in person, as they are now (re-resolved: someone removed from the config, disabled at their
   * provider or revoked is signed out here), or undefined.
   */
  async current(request: FastifyRequest): Promise<SignedIn | undefined> {
    const value = parseCookies(request.headers.cookie).get(this.sessionCookie)
    if (!value || !TOKEN_SHAPE.test(value)) return undefined
    const idHash = sha256Hex(value)
    const row = await this.sessions.getWeb(idHash)
    if (!row || row.expiresAt <= this.now()) return undefined
    try {
      return { identity: await this.identities.current(row.identity, row.auth), auth: { ...row.auth, webSession: idHash }, idHash, expiresAt: row.expiresAt }
    } catch (error) {
      if (!isJitsshError(error)) throw error
      await this.sessions.deleteWeb(idHash)
      return undefined
    }
  }

  /**
   * Starts a fresh browser session (a new id on every login: no fixation). `flow`: the request the sign-in
   * was for (return_to), whose confirmation step the person has just answered by signing in.
   */
  async start(request: FastifyRequest, reply: FastifyReply, identity: Identity, auth: AuthContext, flow: string | null): Promise<void> {
    await this.end(request, reply)
    const value = randomToken(32)
    const createdAt = this.now()
    await this.sessions.createWeb({ idHash: sha256Hex(value), identity, auth, createdAt, expiresAt: createdAt + this.lifetimeMs, flow: flow && sha256Hex(flow) })
    reply.header('set-cookie', serializeCookie(this.sessionCookie, value, { secure: this.secure, maxAgeSeconds: Math.floor(this.lifetimeMs / 1000) }))
  }

  /** Ends this browser's session; returns its id hash (undefined when it had none). */
  async end(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
    const value = parseCookies(request.headers.cookie).get(this.sessionCookie)
    if (!value || !TOKEN_SHAPE.test(value)) return undefined
    const idHash = sha256Hex(value)
    await this.sessions.deleteWeb(idHash)
    reply.header('set-cookie', serializeCookie(this.sessionCookie, '', { secure: this.secure, maxAgeSeconds: 0 }))
    return idHash
  }

  /** The CSRF token for a form on this page; sets the cookie when the browser has none yet. */
  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    const existing = parseCookies(request.headers.cookie).get(this.csrfCookie)
    if (existing && TOKEN_SHAPE.test(existing)) return existing
    const token = randomToken(32)
    reply.header('set-cookie', serializeCookie(this.csrfCookie, token, { secure: this.secure, sameSite: 'Strict' }))
    return token
  }

  /** True once for the request this browser signed in for (see `start`): the person just answered it. */
  async justSignedInFor(signedIn: SignedIn, url: string): Promise<boolean> {
    return this.sessions.takeWebFlow(signedIn.idHash, sha256Hex(url))
  }

  verifyCsrf(request: FastifyRequest, submitted: unknown): boolean {
    const cookie = parseCookies(request.headers.cookie).get(this.csrfCookie)
    return typeof submitted === 'string' && cookie !== undefined && TOKEN_SHAPE.test(cookie) && constantTimeEqual(cookie, submitted)
  }
}
