import { SignJWT, jwtVerify, errors as joseErrors } from 'jose'
import { JitsshError } from '../../shared/errors.js'
import type { TokenSigningKey } from '../ca/server-keys.js'
import type { SessionRow } from '../store/store.js'
import { randomToken } from './secrets.js'

/** Claims of our access tokens (RFC 9068 profile, `typ: at+jwt`). */
export interface AccessTokenClaims {
  iss: string
  aud: string
  sub: string
  sid: string
  iat: number
  exp: number
  jti: string
  email: string
  groups: string[]
  client_id: string
}

const TOKEN_TYPE = 'at+jwt'
const CLOCK_TOLERANCE_SECONDS = 5
/** At most this many verified tokens are remembered (the oldest goes first). */
const VERIFIED_CACHE_SIZE = 10_000

/**
 * Issues and verifies EdDSA access tokens. The issuer (and audience: the API at the same origin) is a
 * function because with port 0 the URL is known only after listen.
 */
export class AccessTokens {
  /**
   * Tokens whose signature and claims this process has verified, by their exact text. A CLI sends the same
   * token with every request for its lifetime (each ssh-gen sign, each tunnel), and the EdDSA check was
   * the largest cost of an authenticated request. What can change for a given text is only time: `exp`
   * is checked again on every use; the session is looked up by the caller on every use.
   */
  private readonly verified = new Map<string, { issuer: string; claims: AccessTokenClaims }>()

  constructor(
    private readonly key: TokenSigningKey,
    private readonly issuer: () => string,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** An access token that ends no later than the session. */
  async issue(session: SessionRow, clientId: string): Promise<{ token: string; expiresIn: number }> {
    const iat = Math.floor(this.now() / 1000)
    const exp = Math.min(iat + Math.floor(this.ttlMs / 1000), Math.floor(session.expiresAt / 1000))
    const token = await new SignJWT({ sid: session.id, email: session.identity.email, groups: session.identity.groups, client_id: clientId })
      .setProtectedHeader({ alg: 'EdDSA', typ: TOKEN_TYPE, kid: this.key.kid })
      .setIssuer(this.issuer())
      .setAudience(this.issuer())
      .setSubject(session.identity.sub)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomToken(16))
      .sign(this.key.privateKey)
    return { token, expiresIn: Math.max(0, exp - iat) }
  }

  /** Signature (EdDSA only), typ, iss, aud, exp and the claims we rely on; throws ERR_NOT_LOGGED_IN. */
  async verify(token: string): Promise<AccessTokenClaims> {
    const issuer = this.issuer()
    const known = this.verified.get(token)
    if (known !== undefined && known.issuer === issuer) {
      // As jose decides it: expired when exp <= now - tolerance.
      if (known.claims.exp > Math.floor(this.now() / 1000) - CLOCK_TOLERANCE_SECONDS) return known.claims
      this.verified.delete(token)
      throw new JitsshError('ERR_NOT_LOGGED_IN', 'access token has expired', { hint: 'run: jitssh login' })
    }
    const claims = await this.verifySignatureAndClaims(token, issuer)
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string)
    this.verified.set(token, { issuer, claims })
    return claims
  }

  private async verifySignatureAndClaims(token: string, issuer: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key.publicKey, {
        algorithms: ['EdDSA'],
        typ: TOKEN_TYPE,
        issuer,
        audience: issuer,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'sid', 'exp', 'iat', 'jti'],
      })
      if (typeof payload.sid !== 'string' || typeof payload.email !== 'string' || !Array.isArray(payload.groups)) {
        throw new JitsshError('ERR_NOT_LOGGED_IN', 'access token is missing required claims')
      }
      // Shared by every later request with this token: nobody may change it.
      Object.freeze(payload.groups)
      return Object.freeze(payload) as unknown as AccessTokenClaims
    } catch (error) {
      if (error instanceof JitsshError) throw error
      const message = error instanceof joseErrors.JWTExpired ? 'access token has expired' : 'access token is not valid'
      throw new JitsshError('ERR_NOT_LOGGED_IN', message, { hint: 'run: jitssh login', cause: error })
    }
  }
}
