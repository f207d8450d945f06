import { createHmac, randomUUID } from 'node:crypto'
import type { WebhookConfig } from '../config/types.js'
import { DeliveryQueue } from '../http/delivery-queue.js'
import type { AccessRequestRow } from '../store/store.js'
import { formatDuration } from '../../shared/duration.js'
import type { RequestEvent } from './access-requests.js'

/** Attempts per delivery (about two minutes of backoff) before it is given up, logged and counted. */
const MAX_ATTEMPTS = 8

/** What a receiver gets: JSON, with a Slack-compatible `text` so an incoming-webhook URL works as it is. */
export interface WebhookPayload {
  event: string
  delivery: string
  sent_at: string
  request: {
    id: string
    state: string
    requester: string
    host: string
    login: string
    duration: string
    reason: string | null
    rule: string
    break_glass: boolean
    approvals_required: number
    created_at: string
    ends_at: string | null
  }
  by: string
  reason: string | null
  /** Who would have approved (break-glass), or who may approve (a new request). */
  notify: string[]
  /** The page where it is reviewed; never a link that approves by itself. */
  review_url: string
  text: string
}

/**
 * Sends access-request events to the configured webhooks: one bounded queue per receiver, retried with
 * backoff, each delivery signed: `X-Jitssh-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
 * with `X-Jitssh-Timestamp` (Unix seconds), so a receiver can check it and refuse old replays.
 */
export class Webhooks {
  private readonly receivers: Array<{ config: WebhookConfig; queue: DeliveryQueue }>

  constructor(
    configs: WebhookConfig[],
    private readonly publicUrl: () => string,
    onProblem: (message: string, fields: Record<string, unknown>) => void,
    private readonly now: () => number = Date.now,
    fetchImpl: typeof fetch = fetch,
  ) {
    this.receivers = configs.map((config) => ({
      config,
      queue: new DeliveryQueue({
        name: new URL(config.url).host,
        label: `webhook ${new URL(config.url).origin}`,
        maxQueue: config.maxQueue,
        maxAttempts: MAX_ATTEMPTS,
        onProblem,
        deliver: async (body, signal) => {
          const event = (JSON.parse(body) as WebhookPayload).event
          const timestamp = String(Math.floor(this.now() / 1000))
          const response = await fetchImpl(config.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'user-agent': 'jitssh-server',
              'x-jitssh-event': event,
              'x-jitssh-timestamp': timestamp,
              'x-jitssh-signature': signWebhook(config.secret, timestamp, body),
            },
            body,
            redirect: 'error',
            signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]),
          })
          await response.body?.cancel()
          if (!response.ok) throw new Error(`HTTP ${response.status}`)
        },
      }),
    }))
  }

  /** Queues the event for every receiver that wants it; never blocks or throws. */
  notify(event: RequestEvent, request: AccessRequestRow, extra: { by: string; reason: string | null; notify: string[] }): void {
    const name = `request.${event}`
    const wanting = this.receivers.filter((receiver) => receiver.config.events.includes(name))
    if (wanting.length === 0) return
    const payload: WebhookPayload = {
      event: name,
      delivery: randomUUID(),
      sent_at: new Date(this.now()).toISOString(),
      request: {
        id: request.id, state: request.state, requester: request.requester.email, host: request.host, login: request.login,
        duration: formatDuration(request.durationMs), reason: request.reason, rule: request.rule, break_glass: request.breakGlass,
        approvals_required: request.approvalsRequired, created_at: new Date(request.createdAt).toISOString(),
        ends_at: request.endsAt === null ? null : new Date(request.endsAt).toISOString(),
      },
      by: extra.by,
      reason: extra.reason,
      notify: extra.notify,
      review_url: `${this.publicUrl()}/requests/${request.id}`,
      text: '',
    }
    payload.text = slackText(payload)
    const body = JSON.stringify(payload)
    for (const receiver of wanting) receiver.queue.send(body)
  }

  /** Delivers what is queued within `timeoutMs` (shutdown). */
  async close(timeoutMs: number): Promise<void> {
    await Promise.all(this.receivers.map((receiver) => receiver.queue.close(timeoutMs)))
  }
}

/** `sha256=<hex>` over `<timestamp>.<body>`: what a receiver recomputes with the shared secret. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/** One line for chat, with Slack's `<url|label>` link and its three characters escaped in our text. */
function slackText(payload: WebhookPayload): string {
  const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const r = payload.request
  const what = `${escape(r.login)}@${escape(r.host)} for ${r.duration}`
  const why = payload.reason ?? r.reason
  const because = why ? `: “${escape(why.replace(/\s+/g, ' ').slice(0, 300))}”` : ''
  const link = `<${payload.review_url}|${r.id}>`
  switch (payload.event) {
    case 'request.created': return `${escape(r.requester)} requests ${what}${because} · review ${link}`
    case 'request.break_glass': return `:rotating_light: BREAK-GLASS: ${escape(r.requester)} took ${what} without approval${because} · ${link}`
    case 'request.reviewed': return `${escape(payload.by)} reviewed ${link} (${escape(r.requester)}, ${what})${because}`
    case 'request.approved': return `${link} approved: ${escape(r.requester)} may use ${what}`
    case 'request.denied': return `${link} denied by ${escape(payload.by)}${because}`
    case 'request.revoked': return `${link} revoked by ${escape(payload.by)}${because}`
    default: return `${link} ${payload.event.slice('request.'.length)}: ${escape(r.requester)}, ${what}${because}`
  }
}
