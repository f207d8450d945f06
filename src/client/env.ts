// The JITSSH_* environment variables, read in one place into a typed object (man/jitssh.1 lists them).
// Imports nothing, not even node: built-ins: the ssh-gen fast path loads it (and bundles it into
// dist/fast-path.cjs), and that runs before every ssh connection.

export const DEFAULT_CERT_MARGIN_SECONDS = 60
export const DEFAULT_HTTP_TIMEOUT_MS = 15_000
export const DEFAULT_KEEPALIVE_MS = 30_000
export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000

export interface JitsshEnv {
  /** JITSSH_HOME: where jitssh keeps its files, when set and not empty (else ~/.jitssh). */
  home: string | undefined
  /** JITSSH_CERT_MARGIN: seconds a certificate must still be valid for ssh-gen to reuse it (0-999999; default 60). */
  certMarginSeconds: number
  /** JITSSH_HTTP_TIMEOUT_MS: each HTTP request with its whole body, and the tunnel's handshake with a proxy's CONNECT (default 15 s). */
  httpTimeoutMs: number
  /** JITSSH_KEEPALIVE_MS: the tunnel's keepalive ping interval (default 30 s). */
  keepaliveMs: number
  /** JITSSH_LOGIN_TIMEOUT_MS: how long a browser or device login may take (default 5 minutes). */
  loginTimeoutMs: number
  /** JITSSH_CREDENTIAL_STORE=file|keychain: where the refresh token must live; undefined: the keychain, else a file. */
  credentialStore: 'file' | 'keychain' | undefined
  /** JITSSH_DEBUG: set, and neither empty, 0 nor false: errors show their cause chain. */
  debug: boolean
  /**
   * JITSSH_ROUTE_CHECK=1: set by jitssh itself for the `ssh -G` it runs to check where ssh would go (ssh-config
   * --write, doctor); ssh-gen then succeeds at once without doing anything.
   */
  routeCheck: boolean
  /** JITSSH_CA_FILE: a PEM file of CA certificates to trust for the server's TLS, for every server (over `login --ca-file`). */
  caFile: string | undefined
  /**
   * JITSSH_TUNNEL=raw|websocket: how the ProxyCommand carries ssh to the bastion. Unset (or anything else): the raw
   * upgrade, and a WebSocket when something between refuses it; `websocket` skips the raw try (for proxies that let
   * only WebSockets through), `raw` never falls back.
   */
  tunnelTransport: 'auto' | 'raw' | 'websocket'
}

/** A positive number of milliseconds, or `fallback` for anything else (unset, empty, 0, negative, not a number). */
function positiveMs(raw: string | undefined, fallback: number): number {
  const value = Number(raw)
  return Number.isFinite(value) && value > 0 ? value : fallback
}

export function parseJitsshEnv(env: Record<string, string | undefined>): JitsshEnv {
  const home = env.JITSSH_HOME
  const margin = env.JITSSH_CERT_MARGIN
  const store = env.JITSSH_CREDENTIAL_STORE
  const debug = env.JITSSH_DEBUG
  const caFile = env.JITSSH_CA_FILE
  return {
    home: home !== undefined && home !== '' ? home : undefined,
    certMarginSeconds: margin !== undefined && /^\d{1,6}$/.test(margin) ? Number(margin) : DEFAULT_CERT_MARGIN_SECONDS,
    httpTimeoutMs: positiveMs(env.JITSSH_HTTP_TIMEOUT_MS, DEFAULT_HTTP_TIMEOUT_MS),
    keepaliveMs: positiveMs(env.JITSSH_KEEPALIVE_MS, DEFAULT_KEEPALIVE_MS),
    loginTimeoutMs: positiveMs(env.JITSSH_LOGIN_TIMEOUT_MS, DEFAULT_LOGIN_TIMEOUT_MS),
    credentialStore: store === 'file' || store === 'keychain' ? store : undefined,
    debug: debug !== undefined && debug !== '' && debug !== '0' && debug !== 'false',
    routeCheck: env.JITSSH_ROUTE_CHECK === '1',
    caFile: caFile !== undefined && caFile !== '' ? caFile : undefined,
    tunnelTransport: env.JITSSH_TUNNEL === 'raw' || env.JITSSH_TUNNEL === 'websocket' ? env.JITSSH_TUNNEL : 'auto',
  }
}
