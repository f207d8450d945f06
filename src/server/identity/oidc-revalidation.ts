import { randomToken } from '../oauth/secrets.js'
import type { UpstreamGrantStore } from '../store/store.js'
import { refused } from './identities.js'
import type { AuthContext, Identity } from './identity.js'
import { UpstreamRefusal, type OidcUpstream, type UpstreamLogin } from './oidc-upstream.js'
import type { UpstreamSecrets } from './upstream-secrets.js'

export interface RevalidationSettings {
  /** Re-check at the provider when the last check is older than this. */
  revalidateMs: number
  /** Sign in at the provider again after this long, whatever the refresh token says. */
  reauthenticateAfterMs: number
}

/**
 * Keeps OpenID Connect people as their provider says they are now. A login is kept as an upstream grant
 * (its refresh token sealed); any use of a session on it after `revalidateMs` re-checks at the provider
 * (one replica at a time) and picks up the current email and groups; a provider that refuses ends the grant,
 * and with it every session on it. A provider that cannot be reached is not a refusal: the last answer holds
 * until it can be asked again. Without a refresh token, only `reauthenticateAfterMs` bounds the login.
 */
export class OidcRevalidation {
  constructor(
    private readonly upstream: OidcUpstream,
    private readonly grants: UpstreamGrantStore,
    private readonly secrets: UpstreamSecrets,
    private readonly settings: () => RevalidationSettings,
    private readonly now: () => number,
    private readonly warn: (error: unknown, message: string) => void,
  ) {}

  /** Keeps a new login; returns the id that sessions carry as AuthContext.upstreamId. */
  async keep(login: UpstreamLogin): Promise<string> {
    const id = randomToken(18)
    await this.grants.create({
      id, sub: login.identity.sub, claims: login.claims, refreshToken: login.refreshToken && this.secrets.seal(login.refreshToken),
      authTime: login.authTime, checkedAt: this.now(), endedAt: null, endedReason: null,
    })
    return id
  }

  async current(snapshot: Identity, auth: AuthContext | null): Promise<Identity> {
    const now = this.now()
    const { revalidateMs, reauthenticateAfterMs } = this.settings()
    const authTime = auth?.time ?? 0
    if (now - authTime > reauthenticateAfterMs) throw refused(`${snapshot.email} must sign in at the identity provider again`)
    const grant = auth?.upstreamId === undefined ? undefined : await this.grants.get(auth.upstreamId)
    if (!grant) throw refused(`the identity provider login of ${snapshot.email} is not known here any more`)
    if (grant.endedAt !== null) throw refused(`the identity provider no longer accepts ${snapshot.email} (${grant.endedReason ?? 'ended'})`)
    let claims = grant.claims
    if (grant.refreshToken !== null && now - grant.checkedAt >= revalidateMs && (await this.grants.claimCheck(grant.id, grant.checkedAt, now))) {
      const refreshToken = this.secrets.open(grant.refreshToken)
      try {
        if (refreshToken === undefined) throw new UpstreamRefusal('the stored refresh token cannot be opened with this server\'s keys')
        const fresh = await this.upstream.refresh(refreshToken, grant.claims)
        claims = fresh.claims
        await this.grants.update(grant.id, { claims, refreshToken: this.secrets.seal(fresh.refreshToken), checkedAt: now })
      } catch (error) {
        if (!(error instanceof UpstreamRefusal)) {
          this.warn(error, 'could not re-check a person at the identity provider; keeping the last answer')
        } else {
          await this.grants.end(grant.id, now, error.message)
          throw refused(`the identity provider no longer accepts ${snapshot.email} (${error.message})`)
        }
      }
    }
    try {
      return this.upstream.identityFromClaims(claims)
    } catch (error) {
      await this.grants.end(grant.id, now, 'the claims no longer identify a person')
      throw refused(`${snapshot.email} is no longer accepted: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}
