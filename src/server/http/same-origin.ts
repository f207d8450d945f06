import type { FastifyRequest } from 'fastify'

/**
 * Whether the request comes from a page of this server: its `Origin` header is the public URL's origin.
 * Browsers send Origin with every WebSocket handshake and every cross-site POST, so a page of another origin
 * (even on the same site, whose cookies go along) is told apart here. `required`: a missing header fails too.
 */
export function fromOwnOrigin(request: FastifyRequest, publicUrl: string, required: boolean): boolean {
  const origin = request.headers.origin
  if (origin === undefined) return !required
  return origin === new URL(publicUrl).origin
}
