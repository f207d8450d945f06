import type { FastifyRequest } from 'fastify'

/**
 * Whether the request comes from a page of this server: its `Origin` header is the public URL's origin.
 * Browsers send Origin with every WebSocket handshake (`required`: a missing one fails too), so a page of
 * another origin — even on the same site, whose cookies go along — is told apart. A form POST from our own
 * pages carries `Origin: null` (they are served with Referrer-Policy: no-referrer), or none from older
 * browsers: without `required` both pass, and the form's CSRF token is what protects it.
 */
export function fromOwnOrigin(request: FastifyRequest, publicUrl: string, required: boolean): boolean {
  const origin = request.headers.origin
  if (origin === undefined || origin === 'null') return !required
  return origin === new URL(publicUrl).origin
}
