/**
 * One error type for everything jitssh reports on purpose: a stable `code` that tests and scripts
 * match on, a one-line `message` a person can act on, and an optional `hint` (the fix).
 */
export type ErrorCode =
  | 'ERR_USAGE'
  | 'ERR_INVALID_HOSTNAME'
  | 'ERR_INVALID_KEY'
  | 'ERR_INVALID_CERTIFICATE'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_CONFIG_CONFLICT'
  | 'ERR_NOT_LOGGED_IN'
  | 'ERR_SESSION_REVOKED'
  | 'ERR_LOGIN_TIMEOUT'
  | 'ERR_LOGIN_DENIED'
  | 'ERR_POLICY_DENIED'
  | 'ERR_STEP_UP_REQUIRED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_BAD_REQUEST'
  | 'ERR_RATE_LIMITED'
  | 'ERR_SERVER'
  | 'ERR_NETWORK'
  | 'ERR_TLS'
  | 'ERR_TARGET_UNREACHABLE'
  | 'ERR_LOCK_TIMEOUT'
  | 'ERR_INTERRUPTED'
  | 'ERR_INTERNAL'

export class JitsshError extends Error {
  override readonly name = 'JitsshError'
  readonly code: ErrorCode
  readonly hint: string | undefined

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.hint = options.hint
  }
}

export function isJitsshError(error: unknown, code?: ErrorCode): error is JitsshError {
  return error instanceof JitsshError && (code === undefined || error.code === code)
}

/** CLI exit codes (STYLE.md): 0 ok, 1 failure, 2 usage, 4 authentication needed, 130 interrupted. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, AUTH: 4, INTERRUPTED: 130 } as const

export function exitCodeFor(error: unknown): number {
  if (!(error instanceof JitsshError)) return EXIT.FAILURE
  switch (error.code) {
    case 'ERR_USAGE':
    case 'ERR_INVALID_HOSTNAME':
      return EXIT.USAGE
    case 'ERR_NOT_LOGGED_IN':
    case 'ERR_SESSION_REVOKED':
    case 'ERR_LOGIN_TIMEOUT':
    case 'ERR_LOGIN_DENIED':
    case 'ERR_STEP_UP_REQUIRED':
      return EXIT.AUTH
    case 'ERR_INTERRUPTED':
      return EXIT.INTERRUPTED
    default:
      return EXIT.FAILURE
  }
}

/** HTTP status for an error code, used by the server's error handler. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'ERR_NOT_LOGGED_IN':
    case 'ERR_SESSION_REVOKED':
      return 401
    case 'ERR_POLICY_DENIED':
    case 'ERR_STEP_UP_REQUIRED':
    case 'ERR_FORBIDDEN':
      return 403
    case 'ERR_NOT_FOUND':
      return 404
    case 'ERR_RATE_LIMITED':
      return 429
    case 'ERR_TARGET_UNREACHABLE':
      return 502
    case 'ERR_INTERNAL':
    case 'ERR_SERVER':
      return 500
    default:
      return 400
  }
}
