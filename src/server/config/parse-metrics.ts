import type { ConfigNode } from './config-node.js'
import type { MetricsConfig } from './types.js'

/** Long enough that guessing it is hopeless; `openssl rand -hex 32` makes 64 characters. */
export const METRICS_TOKEN_MIN_LENGTH = 32
/** RFC 6750 b64token: what fits in `Authorization: Bearer <token>` without quoting. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/

/**
 * `metrics:` is off unless `enabled: true`. Then /metrics answers loopback clients (when no TLS proxy sits
 * in front: its own connections come from loopback too) and requests with `Authorization: Bearer <token>`.
 */
export function parseMetrics(node: ConfigNode, behindTlsProxy: boolean): MetricsConfig {
  node.onlyKeys(['enabled', 'token'])
  const enabled = node.child('enabled').boolean(false)
  const tokenNode = node.child('token')
  const token = tokenNode.optionalString()
  if (token !== undefined && (token.length < METRICS_TOKEN_MIN_LENGTH || !BEARER_TOKEN.test(token))) {
    tokenNode.fail(`expected at least ${METRICS_TOKEN_MIN_LENGTH} characters of A-Z a-z 0-9 . _ ~ + / - (make one with: openssl rand -hex 32)`)
  }
  if (enabled && behindTlsProxy && token === undefined) {
    tokenNode.fail('is required with behind_tls_proxy: requests through the proxy come from its address, so loopback alone does not identify the scraper')
  }
  return { enabled, token, allowLoopback: !behindTlsProxy }
}
