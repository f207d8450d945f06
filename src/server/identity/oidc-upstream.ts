import * as oidc from 'openid-client'
import { JitsshError } from '../../shared/errors.js'
import type { OidcIdentityConfig } from '../config/types.js'
import { isUnixAccountName } from '../policy/principals.js'
import type { Identity } from './identity.js'

/**
 * The upstream OpenID provider through openid-client: discovery (lazily, retried after a failure),
 * authorization code + PKCE + nonce, ID-token validation, and the email / groups claims.
 */
export class OidcUpstream {
  private configuration: Promise<oidc.Configuration> | undefined

  constructor(private readonly settings: OidcIdentityConfig) {}

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
  async begin(redirectUri: string): Promise<{ url: string; state: string; nonce: string; codeVerifier: string }> {
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
    })
    return { url: url.href, state, nonce, codeVerifier }
  }

  /** Exchanges the code (checking state, nonce, PKCE and the ID token) and maps the claims to an Identity. */
  async finish(callbackUrl: URL, pending: { state: string; nonce: string; codeVerifier: string }): Promise<Identity> {
    const configuration = await this.discover()
    const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    })
    let claims: Record<string, unknown> = { ...tokens.claims() }
    const needsUserInfo = typeof claims.email !== 'string' || claims[this.settings.groupsClaim] === undefined
    if (needsUserInfo && configuration.serverMetadata().userinfo_endpoint) {
      const info = await oidc.fetchUserInfo(configuration, tokens.access_token, String(claims.sub))
      claims = { ...info, ...claims }
    }
    return this.identityFromClaims(claims)
  }

  identityFromClaims(claims: Record<string, unknown>): Identity {
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined
    if (!email || !email.includes('@')) throw new JitsshError('ERR_LOGIN_DENIED', 'the identity provider did not send an email address')
    if (claims.email_verified === false) throw new JitsshError('ERR_LOGIN_DENIED', `the identity provider says ${email} is not verified`)
    const rawGroups = claims[this.settings.groupsClaim]
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((group): group is string => typeof group === 'string') : typeof rawGroups === 'string' ? [rawGroups] : []
    const claimed = claims[this.settings.usernameClaim]
    const username = typeof claimed === 'string' && isUnixAccountName(claimed.toLowerCase()) ? claimed.toLowerCase() : email.split('@')[0]!
    return { sub: String(claims.sub), username, email, name: typeof claims.name === 'string' ? claims.name : undefined, groups }
  }
}
