import { isJitsshError } from '../../shared/errors.js'
import { loadConfig } from './load-config.js'
import type { ServerConfig } from './types.js'

/**
 * What a reload can change while the server runs: read at each use (policy, service accounts, targets, admins, local users,
 * certificates, oauth lifetimes, the bastion's timeouts, log level). Everything else is set up once at
 * start (listener, TLS, storage, keys, the identity provider, session lifetimes, rate limits, metrics, audit
 * checkpoint sinks, connection limits, webhooks):
 * a file that changes those is refused, with the keys named, and the running configuration stays.
 */
const RESTART_ONLY: ReadonlyArray<[string, (config: ServerConfig) => unknown]> = [
  ['public_url', (c) => c.publicUrl],
  ['listen', (c) => c.listen],
  ['tls', (c) => c.tls],
  ['behind_tls_proxy', (c) => c.behindTlsProxy],
  ['trusted_proxies', (c) => c.trustedProxies],
  ['storage', (c) => c.storage],
  ['keys_dir', (c) => c.keysDir],
  ['identity.oidc (the provider)', (c) => c.identity.oidc ?? null],
  ['identity.local (present or not)', (c) => c.identity.local !== undefined],
  ['sessions', (c) => c.sessions],
  ['rate_limits', (c) => c.rateLimits],
  ['metrics', (c) => c.metrics],
  ['audit', (c) => c.audit],
  ['connections', (c) => c.connections],
  ['notifications', (c) => c.notifications],
]

export type ReloadOutcome = { ok: true; config: ServerConfig; changed: string[] } | { ok: false; error: string }

/** Reads and validates `running.source` again; the new configuration, or why it is refused. */
export function reloadConfig(running: ServerConfig): ReloadOutcome {
  let next: ServerConfig
  try {
    next = loadConfig(running.source)
  } catch (error) {
    return { ok: false, error: isJitsshError(error) ? error.message : `cannot read the config: ${error instanceof Error ? error.message : String(error)}` }
  }
  const fixed = RESTART_ONLY.filter(([, get]) => JSON.stringify(get(running)) !== JSON.stringify(get(next))).map(([key]) => key)
  if (fixed.length > 0) {
    return { ok: false, error: `${running.source}: ${fixed.join(', ')} change only with a restart; the running configuration stays (restart to apply them)` }
  }
  const changed = (['policy', 'serviceAccounts', 'targets', 'admins', 'identity', 'certificates', 'oauth', 'bastion', 'logLevel'] as const)
    .filter((key) => JSON.stringify(running[key], mapReplacer) !== JSON.stringify(next[key], mapReplacer))
  return { ok: true, config: next, changed }
}

/** Maps (targets) compare by their entries. */
function mapReplacer(_key: string, value: unknown): unknown {
  return value instanceof Map ? [...value] : value
}
