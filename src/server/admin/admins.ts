import type { ServerConfig } from '../config/types.js'
import { isMember, type Identity } from '../identity/identity.js'

/**
 * Whether the person is one of the configured admins (`admins: {users, groups}`), as they are now: `users`
 * matches stable keys and verified emails only (identity.ts adminNames), never a provider's username claim.
 */
export function isAdmin(ctx: { config: Pick<ServerConfig, 'admins'> }, identity: Identity): boolean {
  return isMember(ctx.config.admins, identity)
}

/** Whether the person may list and play back terminal recordings: an admin, or one of `auditors` (matched as admins are). */
export function isAuditor(ctx: { config: Pick<ServerConfig, 'admins' | 'auditors'> }, identity: Identity): boolean {
  return isMember(ctx.config.admins, identity) || isMember(ctx.config.auditors, identity)
}


