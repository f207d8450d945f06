// The server's refusal of a person (as opposed to a session): recognised wherever it arrives (a device poll, the
// loopback redirect, a refresh) and said at once, with who can help, instead of waiting for or offering a login.
import { JitsshError } from '../../shared/errors.js'
import { ACCOUNT_DISABLED } from '../../shared/protocol.js'

/**
 * ERR_LOGIN_DENIED "account disabled: ..." when the server's words (already one terminal-safe line) say the
 * person is disabled; null otherwise.
 */
export function accountDisabled(said: string, server: string): JitsshError | null {
  if (!said.startsWith(`${ACCOUNT_DISABLED}:`)) return null
  return new JitsshError('ERR_LOGIN_DENIED', said.slice(0, 200), { hint: `ask an administrator of ${server} to enable your account` })
}
