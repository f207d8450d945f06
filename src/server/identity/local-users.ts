import type { LocalIdentityConfig, LocalUser } from '../config/types.js'
import type { Identity } from './identity.js'
import { DEFAULT_SCRYPT, verifyPassword } from './password-hash.js'

export function identityOfLocalUser(user: LocalUser): Identity {
  return { sub: user.username, username: user.username, email: user.email, name: user.name, groups: [...user.groups] }
}

/** Users by name, built once per configuration (a reloaded config is a new object). */
const indexes = new WeakMap<LocalIdentityConfig, Map<string, LocalUser>>()

/** The configured local user with this username (lower-case), or undefined. */
export function findLocalUser(config: LocalIdentityConfig, username: string): LocalUser | undefined {
  let byName = indexes.get(config)
  if (!byName) {
    byName = new Map(config.users.map((user) => [user.username, user]))
    indexes.set(config, byName)
  }
  return byName.get(username)
}

/**
 * Checks a username and password against the configured local users. An unknown name still costs one
 * scrypt run (with the first user's parameters), so response time does not reveal which names exist.
 */
export async function authenticateLocalUser(config: LocalIdentityConfig, username: string, password: string): Promise<Identity | undefined> {
  const user = findLocalUser(config, username.trim().toLowerCase())
  const params = config.users[0]?.passwordHash.split('$').slice(1, 4).join('$') ?? `${DEFAULT_SCRYPT.N}$8$1`
  const dummyHash = `scrypt$${params}$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32).toString('base64')}`
  const ok = await verifyPassword(password, user?.passwordHash ?? dummyHash)
  return ok && user ? identityOfLocalUser(user) : undefined
}
