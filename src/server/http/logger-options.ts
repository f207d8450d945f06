import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'

/** Query parameters whose values never reach the log. */
const SECRET_PARAMS = new Set(['code', 'state', 'user_code', 'device_code', 'token', 'refresh_token', 'access_token', 'password', 'code_verifier', 'nonce', 'ticket'])

/**
 * The URL with secret query values replaced, e.g. `/authorize?code_challenge=...&state=[redacted]`; a nested
 * `return_to` URL (the login page's) is redacted the same way.
 */
export function redactUrl(url: string): string {
  const question = url.indexOf('?')
  if (question < 0) return url
  const params = new URLSearchParams(url.slice(question + 1))
  const parts: string[] = []
  for (const [key, value] of params) {
    if (SECRET_PARAMS.has(key)) parts.push(`${encodeURIComponent(key)}=[redacted]`)
    else if (key === 'return_to') parts.push(`return_to=${encodeURIComponent(redactUrl(value))}`)
    else parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
  }
  return `${url.slice(0, question)}?${parts.join('&')}`
}

/**
 * pino options for fastify: JSON lines to `stream` (stderr by default), request URLs with secrets removed,
 * and the authorization / cookie headers redacted wherever they appear. Secrets are redacted by name where
 * they can appear; `code` only where it is an OAuth code (a request's query or body), never as `*.code`, which
 * would hide every error's `err.code` (ECONNRESET, ERR_BAD_REQUEST) and leave a log that cannot be read.
 */
export function loggerOptions(level: string, stream: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    stream,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        '*.password',
        '*.refresh_token',
        '*.access_token',
        'query.code',
        'body.code',
        'req.query.code',
        'req.body.code',
        '*.device_code',
        '*.user_code',
        '*.code_verifier',
        '*.token',
        '*.ticket',
        '*.csrf_token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: { method: string; url: string; ip?: string; headers: Record<string, unknown> }) => ({
        method: request.method,
        url: redactUrl(request.url),
        remoteAddress: request.ip,
        userAgent: request.headers['user-agent'],
      }),
    },
  } as FastifyServerOptions['logger']
}

/**
 * One log line per request, when it completes (method, URL, client, status, time), instead of fastify's two:
 * each line is a synchronous write to stderr, and on the signing path the second was a large part of a request's
 * CPU (bench figure 4). An upgrade (a tunnel, a terminal) may never complete a response: it is logged as it arrives.
 * Errors are logged as fastify logs them.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (request.headers.upgrade !== undefined) request.log.info({ req: request }, 'incoming request')
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }
}
