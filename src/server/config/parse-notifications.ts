import { outboundUrl } from './parse-sections.js'
import type { ConfigNode } from './config-node.js'
import type { WebhookConfig } from './types.js'

/** The access-request events a webhook can receive (requests/webhooks.ts sends them). */
export const WEBHOOK_EVENTS = [
  'request.created', 'request.reviewed', 'request.approved', 'request.denied', 'request.expired',
  'request.cancelled', 'request.revoked', 'request.ended', 'request.break_glass',
] as const

/**
 * `notifications:`
 *   webhooks:
 *     - url: https://hooks.slack.com/services/...   (https://, or http:// on loopback)
 *       secret: "..."            HMAC-SHA256 key of X-Jitssh-Signature (at least 16 characters)
 *       events: [request.created, request.break_glass]   (default: all)
 *       timeout: 5s
 *       max_queue: 1000
 */
export function parseNotifications(node: ConfigNode): { webhooks: WebhookConfig[] } {
  node.onlyKeys(['webhooks'])
  return { webhooks: node.child('webhooks').list().map(parseWebhook) }
}

function parseWebhook(node: ConfigNode): WebhookConfig {
  node.onlyKeys(['url', 'secret', 'events', 'timeout', 'max_queue'])
  const url = outboundUrl(node.child('url'), 'https://hooks.example.com/jitssh', 'must not carry credentials (the secret signs each delivery)')
  const secret = node.child('secret').string()
  if (secret.length < 16) node.child('secret').fail('must be at least 16 characters (e.g. openssl rand -hex 32)')
  const eventsNode = node.child('events')
  const events = eventsNode.missing ? [...WEBHOOK_EVENTS] : eventsNode.stringList()
  events.forEach((event, i) => {
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) eventsNode.list()[i]!.fail(`unknown event "${event}" (one of: ${WEBHOOK_EVENTS.join(', ')})`)
  })
  if (events.length === 0) eventsNode.fail('list at least one event (or leave it out for all)')
  return {
    url: url.href,
    secret,
    events,
    timeoutMs: node.child('timeout').duration(5_000, { min: 100, max: 60_000 }),
    maxQueue: node.child('max_queue').integer(1000, 1, 100_000),
  }
}
