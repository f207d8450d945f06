import { REDIRECT_PATH } from '../../shared/protocol.js'

const LOOPBACK_REDIRECT = new RegExp(`^http://(127\\.0\\.0\\.1|\\[::1\\]):([1-9][0-9]{0,4})${REDIRECT_PATH.replace(/\//g, '\\/')}$`)

/**
 * RFC 8252 §7.3 for the CLI: `http://127.0.0.1:<port>/callback` or `http://[::1]:<port>/callback`, any port,
 * exactly that path, nothing else (no `localhost`, query, fragment, user info or trailing slash).
 */
export function isAllowedRedirectUri(uri: string): boolean {
  const match = LOOPBACK_REDIRECT.exec(uri)
  return match !== null && Number(match[2]) <= 65535
}
