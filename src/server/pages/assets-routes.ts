import type { FastifyInstance } from 'fastify'
import type { WebAssets } from './assets.js'

/** `GET /assets/<file>`: the browser bundles, served by the server itself (no CDN); hashed names, cached for good. */
export function registerAssetsRoutes(app: FastifyInstance, assets: WebAssets): void {
  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const found = /^[A-Za-z0-9_-]+\.(js|css)$/.test(request.params.file) ? assets.file(request.params.file) : undefined
    if (!found) return reply.code(404).send({ error: 'ERR_NOT_FOUND', message: 'no such asset' })
    return reply.type(found.type).header('cache-control', 'public, max-age=31536000, immutable').send(found.body)
  })
  // Browsers ask for it on every page; there is none.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send())
}
