// JSON and form requests to the jitssh server: a timeout on every request, and every failure turned
// into a JitsshError a person can act on (network → ERR_NETWORK, 401 → ERR_NOT_LOGGED_IN, ...).
import { JitsshError, type ErrorCode } from '../shared/errors.js'
import type { ClientContext, FetchResponse } from './context.js'
import { parseJitsshEnv } from './env.js'

export interface RequestOptions {
  method?: 'GET' | 'POST'
  bearer?: string
  json?: unknown
  form?: Record<string, string>
  timeoutMs?: number
}

/** An HTTP error response: status and the parsed body (OAuth `{error, error_description}` or `{error, message}`). */
export class HttpStatusError extends JitsshError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    readonly body: { error?: string; message?: string; error_description?: string },
    hint?: string,
  ) {
    super(code, message, hint === undefined ? {} : { hint })
  }
  /** The OAuth/API error string from the body, e.g. `invalid_grant` or `ERR_POLICY_DENIED`. */
  get errorName(): string | undefined {
    return this.body.error
  }
}

export function requestSignal(ctx: Pick<ClientContext, 'signal' | 'env'>, timeoutMs?: number): AbortSignal {
  const ms = timeoutMs ?? parseJitsshEnv(ctx.env).httpTimeoutMs
  return AbortSignal.any([ctx.signal, AbortSignal.timeout(ms)])
}

/** Sends one request and returns the parsed JSON body of a 2xx response (or null for an empty body). */
export async function requestJson<T>(ctx: ClientContext, url: string, options: RequestOptions = {}): Promise<T> {
  const text = await requestText(ctx, url, options, 'application/json')
  if (text.trim() === '') return null as T
  const parsed = parseJson(text)
  if (parsed === undefined) {
    throw new JitsshError('ERR_SERVER', `unexpected response from ${new URL(url).origin} (not JSON)`, {
      hint: 'check the --server URL',
    })
  }
  return parsed as T
}

/** Sends one request and returns the body of a 2xx response as text (errors as for requestJson). */
export async function requestText(ctx: ClientContext, url: string, options: RequestOptions = {}, accept = '*/*'): Promise<string> {
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
  const signal = requestSignal(ctx, options.timeoutMs)
  let response: FetchResponse
  let text: string
  try {
    response = await ctx.fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal, redirect: 'error' })
    text = await response.text()
  } catch (error) {
    throw networkError(ctx, url, error)
  }
  if (!response.ok) throw statusError(url, response.status, parseJson(text))
  return text
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

export function networkError(ctx: Pick<ClientContext, 'signal'>, url: string, error: unknown): JitsshError {
  if (error instanceof JitsshError) return error
  if (ctx.signal.aborted) return new JitsshError('ERR_INTERRUPTED', 'interrupted', { cause: error })
  const origin = safeOrigin(url)
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
  const detail = timedOut ? 'timed out' : describeCause(error)
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
  const said = firstLine(body.message ?? body.error_description ?? body.error ?? '')
  const origin = safeOrigin(url)
  if (status === 401) {
    return new HttpStatusError('ERR_NOT_LOGGED_IN', said ? `not logged in: ${said}` : 'not logged in', status, body, 'run: jitssh login')
  }
  if (status === 403) {
    const code: ErrorCode = body.error === 'ERR_POLICY_DENIED' ? 'ERR_POLICY_DENIED' : 'ERR_FORBIDDEN'
    return new HttpStatusError(code, said ? `denied: ${said}` : 'denied by the server', status, body)
  }
  if (status === 429) return new HttpStatusError('ERR_RATE_LIMITED', `rate limited by ${origin}; try again shortly`, status, body)
  if (status === 404) return new HttpStatusError('ERR_NOT_FOUND', `not found at ${origin}${said ? `: ${said}` : ''}`, status, body, 'check the --server URL')
  if (status >= 500) return new HttpStatusError('ERR_SERVER', `server error from ${origin} (HTTP ${status})${said ? `: ${said}` : ''}`, status, body)
  return new HttpStatusError('ERR_BAD_REQUEST', `request rejected by ${origin} (HTTP ${status})${said ? `: ${said}` : ''}`, status, body)
}

export function firstLine(text: string): string {
  return (text.split(/\r?\n/, 1)[0] ?? '').replace(/[\x00-\x1f\x7f]/g, '').slice(0, 300)
}
