import { JitsshError } from '../../shared/errors.js'
import { isServiceSubject } from '../identity/identity.js'
import { findLocalUser } from '../identity/local-users.js'
import { findServiceAccount } from '../identity/service-accounts.js'
import type { Uses } from '../context.js'
import { isPlainName } from '../http/request-fields.js'

export type UserNameDeps = Uses<'config', 'admin'>

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/
const USERNAME_SHAPE = /^[a-z0-9][a-z0-9._:-]*$/

/**
 * The email an admin means by `user`: an email as given (lower-cased), a configured local username, a
 * stable subject key (`oidc:<issuer>#<sub>`) of someone who has signed in, or a configured service account's
 * key (`service:<name>`). Never a provider's username claim: people choose those. Audit events, certificates
 * and disabled users are all keyed by the email (a service account's is its key).
 */
export async function resolveUserEmail(ctx: UserNameDeps, value: unknown, field = 'user'): Promise<string> {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 320 || !isPlainName(value)) {
    throw new JitsshError('ERR_BAD_REQUEST', `${field} must be an email address or a username (without control characters)`)
  }
  const name = value.trim().toLowerCase()
  if (name.startsWith('oidc:')) {
    // A stable subject key, as `jitssh sessions --json` and the audit log show it.
    const email = await ctx.store.admin.findEmailBySubject(value.trim())
    if (email === undefined) throw new JitsshError('ERR_NOT_FOUND', `no session of ${JSON.stringify(value.trim().slice(0, 120))} is known to this server`)
    return email.toLowerCase()
  }
  if (isServiceSubject(name)) {
    if (!findServiceAccount(ctx.config, name.slice('service:'.length))) throw new JitsshError('ERR_NOT_FOUND', `no service account named ${JSON.stringify(name.slice(8, 80))} is configured on this server`)
    return name
  }
  if (name.includes('@')) {
    if (!EMAIL_SHAPE.test(name)) throw new JitsshError('ERR_BAD_REQUEST', `${field}: ${JSON.stringify(name.slice(0, 80))} is not an email address`)
    return name
  }
  if (!USERNAME_SHAPE.test(name)) throw new JitsshError('ERR_BAD_REQUEST', `${field}: ${JSON.stringify(name.slice(0, 80))} is not a username or an email address`)
  // Only configured local users are known by name: a provider's username claim is the person's own choice.
  const { identity } = ctx.config
  const local = identity.local ? findLocalUser(identity.local, name) : undefined
  if (local === undefined) {
    throw new JitsshError('ERR_NOT_FOUND', `no local user named ${name} is configured on this server: give the email address instead`)
  }
  return local.email.toLowerCase()
}
