import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { JitsshError, httpStatusFor } from '../../shared/errors.js'
import type { ApiErrorBody, OAuthErrorBody } from '../../shared/protocol.js'

/** An RFC 6749 §5.2 error from an OAuth endpoint: `{error, error_description}`. */
export class OAuthError extends Error {
  override readonly name = 'OAuthError'
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description)
  }
}

/**
 * The client went away before its request was complete (it closed the connection mid-body): nobody is left
 * to answer, and it is no fault of the server's. Node fails the body's stream with "aborted" (ECONNRESET).
 */
function clientLeft(error: unknown, request: FastifyRequest): boolean {
  return request.raw.aborted || request.raw.socket?.destroyed === true || (error as NodeJS.ErrnoException).code === 'ECONNRESET'
}

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && typeof (error as FastifyError).code === 'string' && (error as FastifyError).code.startsWith('FST_')
}

/** Turns every thrown error into `{error, message}` (or RFC 6749 JSON); internal causes never reach the client. */
export function installErrorHandlers(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof OAuthError) {
      const body: OAuthErrorBody = { error: error.error, error_description: error.description }
      if (error.status === 401) void reply.header('www-authenticate', 'Basic realm="jitssh"')
      return reply.code(error.status).header('cache-control', 'no-store').send(body)
    }
    if (error instanceof JitsshError) {
      const status = httpStatusFor(error.code)
      if (status === 401) void reply.header('www-authenticate', 'Bearer error="invalid_token"')
      return reply.code(status).send({ error: error.code, message: error.message, ...(error.hint !== undefined ? { hint: error.hint } : {}) } satisfies ApiErrorBody)
    }
    if (isFastifyError(error) || (error as { validation?: unknown }).validation) {
      const fastifyError = error as FastifyError
      const status = fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500 ? fastifyError.statusCode : 400
      const message =
        fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `request body is larger than ${bodyLimit} bytes`
          : fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported content type'
            : `bad request: ${fastifyError.message}`
      const code = status === 429 ? 'ERR_RATE_LIMITED' : 'ERR_BAD_REQUEST'
      if (isOAuthPath(request.url)) return reply.code(status).send({ error: status === 429 ? 'slow_down' : 'invalid_request', error_description: message })
      return reply.code(status).send({ error: code, message } satisfies ApiErrorBody)
    }
    if (clientLeft(error, request)) {
      // Expected (a ^C, a dropped network): at debug level, with the code and without a stack.
      request.log.debug({ err: { type: (error as Error).name, message: (error as Error).message, code: (error as NodeJS.ErrnoException).code } }, 'client left before the request was complete')
      return reply.code(400).send({ error: 'ERR_BAD_REQUEST', message: 'the request was not complete' } satisfies ApiErrorBody)
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.code(500).send({ error: 'ERR_INTERNAL', message: 'internal server error' } satisfies ApiErrorBody)
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: 'ERR_NOT_FOUND', message: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` })
  })
}

function isOAuthPath(url: string): boolean {
  const path = url.split('?')[0]
  return path === '/token' || path === '/device_authorization' || path === '/revoke'
}
