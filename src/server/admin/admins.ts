import type { ServerConfig } from '../config/types.js'
import { adminNames, type Identity } from '../identity/identity.js'

/**
 * Whether the person is one of the configured admins (`admins: {users, groups}`), as they are now: `users`
 * matches stable keys and verified emails only (identity.ts adminNames), never a provider's username claim.
 */
export function isAdmin(ctx: { config: Pick<ServerConfig, 'admins'> }, identity: Identity): boolean {
  const { users, groups } = ctx.config.admins
  return adminNames(identity).some((name) => users.includes(name.toLowerCase())) || identity.groups.some((group) => groups.includes(group))
}
