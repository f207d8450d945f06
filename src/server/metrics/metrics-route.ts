import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { MetricsConfig } from '../config/types.js'
import { EXPOSITION_CONTENT_TYPE } from './exposition.js'
import type { ServerMetrics } from './server-metrics.js'

/** 127.0.0.0/8, ::1, and IPv4 loopback as an IPv4-mapped IPv6 address (a dual-stack listener). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false
  const v4 = address.toLowerCase().replace(/^::ffff:/, '')
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

/**
 * Who may read the metrics: a loopback peer (unless a TLS proxy is in front: its connections come from
 * loopback too), or anyone presenting the configured bearer token. Compared as SHA-256 digests with
 * timingSafeEqual, so the time taken says nothing about the token, not even its length.
 */
function scrapeCheck(settings: MetricsConfig): (request: FastifyRequest) => boolean {
  const expected = settings.token === undefined ? undefined : sha256(settings.token)
  return (request) => {
    if (settings.allowLoopback && isLoopbackAddress(request.socket.remoteAddress)) return true
    const match = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')
    return expected !== undefined && match !== null && timingSafeEqual(sha256(match[1]!), expected)
  }
}

/**
 * `GET /metrics` in the Prometheus text format, registered only when `metrics.enabled`. Anyone else gets
 * the same 404 as an unknown path: usage numbers are nobody else's business, not even that they exist.
 */
export function registerMetricsRoute(app: FastifyInstance, settings: MetricsConfig, metrics: ServerMetrics): void {
  const mayScrape = scrapeCheck(settings)
  app.get('/metrics', async (request, reply) => {
    if (!mayScrape(request)) {
      reply.callNotFound()
      return reply
    }
    const text = await metrics.render()
    return reply.header('content-type', EXPOSITION_CONTENT_TYPE).header('cache-control', 'no-store').send(text)
  })
}
