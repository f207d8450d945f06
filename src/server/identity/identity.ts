/** Who a person is, as the identity source (local users or upstream OIDC) says, frozen into a session. */
export interface Identity {
  /** Stable subject: the local username, or `oidc:<issuer sub>`. */
  sub: string
  /** Login name, used for the `{username}` principal template. */
  username: string
  /** Lower-case email: the name in audit events, key ids and policy denials. */
  email: string
  name: string | undefined
  groups: string[]
}
