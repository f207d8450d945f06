import type { LocalIdentityConfig, LocalUser } from '../config/types.js'
import type { Identity } from './identity.js'
import { DEFAULT_SCRYPT, verifyPassword } from './password-hash.js'

export function identityOfLocalUser(user: LocalUser): Identity {
  return { sub: user.username, username: user.username, email: user.email, name: user.name, groups: [...user.groups] }
}

/**
 * Checks a username and password against the configured local users. An unknown name still costs one
 * scrypt run (with the first user's parameters), so response time does not reveal which names exist.
 */
export class LocalUsers {
  private readonly byName: Map<string, LocalUser>
  private readonly dummyHash: string

  constructor(config: LocalIdentityConfig) {
    this.byName = new Map(config.users.map((user) => [user.username, user]))
    const params = config.users[0]?.passwordHash.split('$').slice(1, 4).join('$') ?? `${DEFAULT_SCRYPT.N}$8$1`
    this.dummyHash = `scrypt$${params}$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32).toString('base64')}`
  }

  async authenticate(username: string, password: string): Promise<Identity | undefined> {
    const user = this.byName.get(username.trim().toLowerCase())
    const ok = await verifyPassword(password, user?.passwordHash ?? this.dummyHash)
    return ok && user ? identityOfLocalUser(user) : undefined
  }
}
