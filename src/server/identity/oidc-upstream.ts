import * as oidc from 'openid-client'
import { JitsshError } from '../../shared/errors.js'
import type { OidcIdentityConfig } from '../config/types.js'
import { isUnixAccountName } from '../policy/principals.js'
import { oidcSubject, type Identity } from './identity.js'

/** What an upstream login brings back: the person, the claims they came from, and how they signed in. */
export interface UpstreamLogin {
  identity: Identity
  claims: Record<string, unknown>
  /** Present when the provider issued one (e.g. with the `offline_access` scope): it re-checks the person later. */
  refreshToken: string | null
  /** Unix ms: the provider's `auth_time`, else now. */
  authTime: number
  amr: string[] | undefined
  acr: string | undefined
}

/** The provider refused a refresh for good (the person was disabled, deleted, or their grant revoked). */
export class UpstreamRefusal extends Error {
  override readonly name = 'UpstreamRefusal'
}

/**
 * The upstream OpenID provider through openid-client: discovery (lazily, retried after a failure),
 * authorization code + PKCE + nonce, ID-token validation, refresh, and the mapping of claims to a person.
 * Only claims a person cannot change decide anything: the subject (the stable key), the email when the
 * provider says it is verified, the groups; a username claim counts only when the config names one.
 */
export class OidcUpstream {
  private configuration: Promise<oidc.Configuration> | undefined

  constructor(private readonly settings: OidcIdentityConfig, private readonly now: () => number) {}

  private discover(): Promise<oidc.Configuration> {
    if (!this.configuration) {
      const { issuer, clientId, clientSecret, allowInsecureIssuer } = this.settings
      this.configuration = oidc
        .discovery(new URL(issuer), clientId, clientSecret, clientSecret ? undefined : oidc.None(), {
          ...(allowInsecureIssuer ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: 10,
        })
        .catch((error: unknown) => {
          this.configuration = undefined
          throw new JitsshError('ERR_SERVER', `cannot reach the identity provider ${issuer}`, { cause: error })
        })
    }
    return this.configuration
  }

  /** The provider's authorization URL and the secrets to keep until the callback. */
  /** `fresh`: the provider must authenticate the person again (prompt=login, max_age=0), not reuse its session. */
  async begin(redirectUri: string, fresh = false): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }> {
    const configuration = await this.discover()
    const codeVerifier = oidc.randomPKCECodeVerifier()
    const state = oidc.randomState()
    const nonce = oidc.randomNonce()
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(fresh ? { prompt: 'login', max_age: '0' } : {}),
    })
    return { url: url.href, state, nonce, codeVerifier }
  }

  /** Exchanges the code (checking state, nonce, PKCE and the ID token) and maps the claims to a person. */
  async finish(callbackUrl: URL, pending: { state: string; nonce: string; codeVerifier: string }): Promise<UpstreamLogin> {
    const configuration = await this.discover()
    const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    })
    const claims = await this.withUserInfo(configuration, { ...tokens.claims() }, tokens.access_token)
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time * 1000 : this.now()
    return {
      identity: this.identityFromClaims(claims),
      claims,
      refreshToken: tokens.refresh_token ?? null,
      authTime,
      amr: Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === 'string') : undefined,
      acr: typeof claims.acr === 'string' ? claims.acr : undefined,
    }
  }

  /**
   * Asks the provider about the person again with the refresh token. Throws UpstreamRefusal when the provider
   * says no for good (`invalid_grant`: disabled, deleted, grant revoked); other errors (network) are thrown
   * as they are. The subject must not change.
   */
  async refresh(refreshToken: string, previous: Record<string, unknown>): Promise<{ claims: Record<string, unknown>; refreshToken: string }> {
    const configuration = await this.discover()
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>
    try {
      tokens = await oidc.refreshTokenGrant(configuration, refreshToken)
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError && (error.error === 'invalid_grant' || error.status === 401)) {
        throw new UpstreamRefusal(`the identity provider refused: ${error.error}`)
      }
      throw error
    }
    const fromIdToken = tokens.id_token ? { ...tokens.claims() } : {}
    const claims = await this.withUserInfo(configuration, { ...previous, ...fromIdToken }, tokens.access_token, true)
    if (claims.sub !== previous.sub) throw new UpstreamRefusal('the identity provider answered for another subject')
    return { claims, refreshToken: tokens.refresh_token ?? refreshToken }
  }

  /** Adds userinfo claims when the ID token lacks the email or the groups (or always, on a refresh). */
  private async withUserInfo(configuration: oidc.Configuration, claims: Record<string, unknown>, accessToken: string, always = false): Promise<Record<string, unknown>> {
    const needsUserInfo = always || typeof claims.email !== 'string' || claims[this.settings.groupsClaim] === undefined
    if (!needsUserInfo || !configuration.serverMetadata().userinfo_endpoint) return claims
    const info = await oidc.fetchUserInfo(configuration, accessToken, String(claims.sub))
    return { ...claims, ...info }
  }

  /** The person these claims describe, by the rules above; ERR_LOGIN_DENIED when they do not identify one. */
  identityFromClaims(claims: Record<string, unknown>): Identity {
    if (typeof claims.sub !== 'string' || claims.sub === '') throw new JitsshError('ERR_LOGIN_DENIED', 'the identity provider sent no subject')
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined
    if (!email || !email.includes('@')) throw new JitsshError('ERR_LOGIN_DENIED', 'the identity provider did not send an email address')
    const verified = claims.email_verified === true || (this.settings.assumeEmailVerified && claims.email_verified !== false)
    if (!verified) throw new JitsshError('ERR_LOGIN_DENIED', `the identity provider does not say that ${email} is verified`)
    const rawGroups = claims[this.settings.groupsClaim]
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((group): group is string => typeof group === 'string') : typeof rawGroups === 'string' ? [rawGroups] : []
    const claimed = this.settings.usernameClaim === undefined ? undefined : claims[this.settings.usernameClaim]
    const username = typeof claimed === 'string' && isUnixAccountName(claimed.toLowerCase()) ? claimed.toLowerCase() : email.split('@')[0]!
    const usernameClaimed = typeof claimed === 'string' && username === claimed.toLowerCase()
    return {
      sub: oidcSubject(this.settings.issuer, claims.sub), username, email, name: typeof claims.name === 'string' ? claims.name : undefined, groups,
      ...(usernameClaimed ? { usernameClaimed } : {}),
    }
  }
}
