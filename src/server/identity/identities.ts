import { JitsshError } from '../../shared/errors.js'
import type { ServerConfig } from '../config/types.js'
import type { AuthContext, Identity } from './identity.js'
import { isLocalSubject, isServiceSubject } from './identity.js'
import { findLocalUser, identityOfLocalUser } from './local-users.js'
import type { OidcRevalidation } from './oidc-revalidation.js'
import { currentServiceIdentity } from './service-accounts.js'

/**
 * Who a person is *now*. Sessions keep the identity of their login, but every refresh, signature, tunnel,
 * admin call and browser request asks here: a local user is looked up in the configuration that is running
 * (gone from it → refused; current groups and email apply), an OpenID Connect user is re-checked at the
 * provider when the last check is older than `revalidate_every` (the provider refuses → refused), a service
 * account in the running config with the credential that authenticated it (identity/service-accounts.ts). A refusal
 * is a JitsshError ERR_SESSION_REVOKED naming why; the caller ends the session.
 */
export class Identities {
  constructor(
    private readonly config: () => ServerConfig,
    private readonly oidc: OidcRevalidation | undefined,
  ) {}

  async current(snapshot: Identity, auth: AuthContext | null): Promise<Identity> {
    if (isServiceSubject(snapshot.sub)) return currentServiceIdentity(this.config(), snapshot, auth)
    const { identity } = this.config()
    if (isLocalSubject(snapshot.sub)) {
      const user = identity.local ? findLocalUser(identity.local, snapshot.sub) : undefined
      if (!user) throw refused(`${snapshot.email} is no longer a user of this server`)
      return identityOfLocalUser(user)
    }
    if (!identity.oidc || !this.oidc) throw refused(`${snapshot.email} signed in through an identity provider this server no longer uses`)
    return this.oidc.current(snapshot, auth)
  }
}

export function refused(reason: string): JitsshError {
  return new JitsshError('ERR_SESSION_REVOKED', reason, { hint: 'run: jitssh login' })
}
