import type { FastifyInstance } from 'fastify'
import type { Uses } from '../context.js'
import { buildRevocationKrl } from './revocation-krl.js'

export type KrlRouteDeps = Uses<'keys' | 'now', 'certificates'>

/**
 * `GET /v1/ssh/krl`: the KRL of revoked certificates (OpenSSH PROTOCOL.krl), for sshd's `RevokedKeys`.
 * Public on purpose, with no token: target hosts fetch it from a cron job, and it holds only serial numbers
 * of certificates that no longer grant anything. Cacheable for a few seconds; `If-None-Match` with the ETag
 * answers 304 until the revoked set changes. `jitssh-server krl --out FILE` writes the same bytes.
 */
export function registerKrlRoute(app: FastifyInstance, ctx: KrlRouteDeps): void {
  // Per client address: plenty for cron jobs (even many hosts behind one NAT), a ceiling for abuse.
  app.get('/v1/ssh/krl', { config: { rateLimit: { max: 600, timeWindow: 60_000 } } }, async (request, reply) => {
    const krl = await buildRevocationKrl(ctx.store, ctx.keys.userCa.publicKey, ctx.now())
    void reply
      .header('cache-control', 'public, max-age=10')
      .header('etag', krl.etag)
      .header('x-jitssh-krl-version', String(krl.version))
      .header('x-jitssh-revoked-certificates', String(krl.revoked))
    if (request.headers['if-none-match'] === krl.etag) return reply.code(304).send()
    return reply.type('application/octet-stream').header('content-disposition', 'attachment; filename="jitssh.krl"').send(krl.bytes)
  })
}
