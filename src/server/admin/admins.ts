import type { ServerConfig } from '../config/types.js'

/** Whether the person is one of the configured admins (`admins: {users, groups}`). */
export function isAdmin(ctx: { config: Pick<ServerConfig, 'admins'> }, identity: { username: string; email: string; groups: string[] }): boolean {
  const { users, groups } = ctx.config.admins
  return users.includes(identity.username) || users.includes(identity.email) || identity.groups.some((group) => groups.includes(group))
}
