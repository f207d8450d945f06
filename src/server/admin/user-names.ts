import { JitsshError } from '../../shared/errors.js'
import type { Uses } from '../context.js'

export type UserNameDeps = Uses<'config', 'admin'>

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/
const USERNAME_SHAPE = /^[a-z0-9][a-z0-9._:-]*$/

/**
 * The email an admin means by `user`: an email as given (lower-cased), or a username looked up among the
 * local users, else among the sessions (OIDC users are known once they have logged in). Audit events,
 * certificates and disabled users are all keyed by the email.
 */
export async function resolveUserEmail(ctx: UserNameDeps, value: unknown, field = 'user'): Promise<string> {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 320) {
    throw new JitsshError('ERR_BAD_REQUEST', `${field} must be an email address or a username`)
  }
  const name = value.trim().toLowerCase()
  if (name.includes('@')) {
    if (!EMAIL_SHAPE.test(name)) throw new JitsshError('ERR_BAD_REQUEST', `${field}: ${JSON.stringify(name.slice(0, 80))} is not an email address`)
    return name
  }
  if (!USERNAME_SHAPE.test(name)) throw new JitsshError('ERR_BAD_REQUEST', `${field}: ${JSON.stringify(name.slice(0, 80))} is not a username or an email address`)
  const { identity } = ctx.config
  const local = identity.kind === 'local' ? identity.users.find((user) => user.username === name) : undefined
  const email = local?.email ?? (await ctx.store.admin.findEmailByUsername(name))
  if (email === undefined) {
    throw new JitsshError('ERR_NOT_FOUND', `no user named ${name} is known to this server: give the email address instead`)
  }
  return email.toLowerCase()
}
