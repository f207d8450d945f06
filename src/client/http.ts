// JSON and form requests to the jitssh server: a deadline on every request, its body included, and every
// failure turned into a JitsshError a person can act on (network → ERR_NETWORK, 401 → ERR_NOT_LOGGED_IN, ...).
import { JitsshError, type ErrorCode } from '../shared/errors.js'
import type { ClientContext, FetchResponse } from './context.js'
import { startDeadline, timedOut, type Deadline } from './deadline.js'
import { parseJitsshEnv } from './env.js'
import { formatBytes, invalidAnswer, type Answer, type AnswerLimit } from './server-answers.js'
import { firstLine } from './terminal-text.js'
import { tlsError, tlsProblem } from './trust.js'

export interface RequestOptions<T> {
  /** What the answer is (for messages), the most of its body to read, and how to check it. */
  answer: Answer<T>
  method?: 'GET' | 'POST'
  bearer?: string
  json?: unknown
  form?: Record<string, string>
  timeoutMs?: number
  /** Sees the response's status and headers before its body is read (doctor reads `Date` for the clock). */
  onResponse?: (response: FetchResponse) => void
}

/**
 * An HTTP error response: status and the parsed body (OAuth `{error, error_description}` or `{error, message}`),
 * as the server sent it: read its fields with serverMessage, never as strings without a check.
 */
export class HttpStatusError extends JitsshError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    readonly body: { error?: unknown; message?: unknown; error_description?: unknown; hint?: unknown },
    hint?: string,
  ) {
    super(code, message, hint === undefined ? {} : { hint })
  }
  /** The OAuth/API error string from the body, e.g. `invalid_grant` or `ERR_POLICY_DENIED`. */
  get errorName(): string | undefined {
    return typeof this.body.error === 'string' ? this.body.error : undefined
  }
}

/**
 * Sends one request and returns the JSON body of a 2xx response as `options.answer` reads it (an empty body is
 * undefined to it). The whole exchange, body included, has JITSSH_HTTP_TIMEOUT_MS; the body is read up to
 * `options.answer.maxBytes`.
 */
export async function requestJson<T>(ctx: ClientContext, url: string, options: RequestOptions<T>): Promise<T> {
  const text = await exchange(ctx, url, options, options.answer, 'application/json')
  if (text.trim() === '') return options.answer.read(undefined)
  const parsed = parseJson(text)
  if (parsed === undefined) throw invalidAnswer(options.answer, 'not JSON')
  return options.answer.read(parsed)
}

/** Sends one request and returns the body of a 2xx response as text, read up to `limit.maxBytes` (errors as for requestJson). */
export async function requestText(ctx: ClientContext, url: string, options: Omit<RequestOptions<never>, 'answer'> & { limit: AnswerLimit }): Promise<string> {
  return exchange(ctx, url, options, options.limit, '*/*')
}

/** One request with a deadline for the whole exchange; the 2xx body as text within `limit`, or the error it means. */
async function exchange(ctx: ClientContext, url: string, options: Omit<RequestOptions<never>, 'answer'>, limit: AnswerLimit, accept: string): Promise<string> {
  const headers: Record<string, string> = { accept, 'user-agent': 'jitssh-cli' }
  let body: string | undefined
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(options.json)
  } else if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(options.form).toString()
  }
  const method = options.method ?? (body === undefined ? 'GET' : 'POST')
  const deadline = startDeadline(ctx.signal, options.timeoutMs ?? parseJitsshEnv(ctx.env).httpTimeoutMs)
  let response: FetchResponse
  let text: string | null
  try {
    response = await ctx.fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal: deadline.signal, redirect: 'error' })
    options.onResponse?.(response)
    text = await readBounded(response, limit.maxBytes)
  } catch (error) {
    throw networkError(ctx, url, error, deadline)
  } finally {
    deadline.done()
  }
  // An error answer too long to read is reported by its status alone.
  if (!response.ok) throw statusError(url, response.status, text === null ? undefined : parseJson(text))
  if (text === null) throw invalidAnswer(limit, `more than ${formatBytes(limit.maxBytes)}`)
  return text
}

/** The body as text, or null when it is longer than `maxBytes`: then reading stops there and the rest is dropped. */
async function readBounded(response: FetchResponse, maxBytes: number): Promise<string | null> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  const reader = response.body?.getReader()
  if (reader === undefined) return ''
  if (declared > maxBytes) {
    await reader.cancel().catch(() => undefined)
    return null
  }
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done || value === undefined) return Buffer.concat(chunks).toString('utf8')
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      return null
    }
    chunks.push(value)
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function networkError(ctx: Pick<ClientContext, 'signal' | 'env'>, url: string, error: unknown, deadline: Deadline): JitsshError {
  if (error instanceof JitsshError) return error
  if (ctx.signal.aborted) return new JitsshError('ERR_INTERRUPTED', 'interrupted', { cause: error })
  const origin = safeOrigin(url)
  // Not the network: the server answered, with a certificate this machine does not trust.
  const tls = tlsProblem(error)
  if (tls !== null) return tlsError(origin, tls, parseJitsshEnv(ctx.env).caFile, error)
  const detail = deadline.expired ? timedOut(deadline.ms) : describeCause(error)
  return new JitsshError('ERR_NETWORK', `cannot reach ${origin}: ${detail}`, {
    cause: error,
    hint: 'check the network, the server URL and HTTPS_PROXY/NO_PROXY',
  })
}

function describeCause(error: unknown): string {
  let e: unknown = error
  let last = 'request failed'
  for (let i = 0; i < 5 && e instanceof Error; i++) {
    const code = (e as NodeJS.ErrnoException).code
    last = code !== undefined ? code : e.message
    e = e.cause
  }
  return last
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

function statusError(url: string, status: number, parsed: unknown): HttpStatusError {
  const body = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as HttpStatusError['body']
  const said = serverMessage(body) || firstLine(body.error)
  const origin = safeOrigin(url)
  if (status === 401) {
    return new HttpStatusError('ERR_NOT_LOGGED_IN', said ? `not logged in: ${said}` : 'not logged in', status, body, 'run: jitssh login')
  }
  if (status === 403) {
    const code: ErrorCode = body.error === 'ERR_POLICY_DENIED' || body.error === 'ERR_STEP_UP_REQUIRED' ? body.error : 'ERR_FORBIDDEN'
    return new HttpStatusError(code, said ? `denied: ${said}` : 'denied by the server', status, body)
  }
  if (status === 429) return new HttpStatusError('ERR_RATE_LIMITED', `rate limited by ${origin}; try again shortly`, status, body)
  if (status === 404) return new HttpStatusError('ERR_NOT_FOUND', `not found at ${origin}${said ? `: ${said}` : ''}`, status, body, 'check the --server URL')
  if (status >= 500) return new HttpStatusError('ERR_SERVER', `server error from ${origin} (HTTP ${status})${said ? `: ${said}` : ''}`, status, body)
  return new HttpStatusError('ERR_BAD_REQUEST', `request rejected by ${origin} (HTTP ${status})${said ? `: ${said}` : ''}`, status, body)
}

/** The first line of the body's `message` or else `error_description`, the first that is a string; or ''. */
export function serverMessage(body: HttpStatusError['body']): string {
  return firstLine(body.message) || firstLine(body.error_description)
}

