/** Errors from the pure OpenSSH-format code. Callers map `code` onto their own error types. */
export type SshFormatErrorCode =
  | 'ERR_INVALID_KEY'
  | 'ERR_INVALID_CERTIFICATE'
  | 'ERR_INVALID_HOSTNAME'
  | 'ERR_INVALID_CONFIG'

export class SshFormatError extends Error {
  override readonly name = 'SshFormatError'
  constructor(
    readonly code: SshFormatErrorCode,
    message: string,
  ) {
    super(message)
  }
}
