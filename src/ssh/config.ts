// CONTRACT STUB — to be implemented (issue 2). Pure text in, text out; no file I/O here.

export type Platform = 'posix' | 'win32'

/** A validated host name or pattern: lower-case DNS name, `*`/`?` patterns allowed, optional port. */
export interface HostSpec {
  host: string
  port: number | undefined
}

/**
 * Validates `vm.example.com`, `*.prod.example.com`, `vm.example.com:2222`, `[::1]`-free DNS names.
 * Rejects newlines, spaces, quotes, `%`, `/`, `\\`, `..`, control characters, empty labels, over-long names
 * with SshFormatError('ERR_INVALID_HOSTNAME') and a one-line message that names what is wrong.
 */
export declare function parseHostSpec(input: string, options?: { allowPattern?: boolean; allowPort?: boolean }): HostSpec
/** true when the (literal) host name matches the ssh-style pattern (`*`, `?`). */
export declare function hostMatchesPattern(host: string, pattern: string): boolean

export interface ManagedBlockInput {
  /** Validated host name or pattern (HostSpec.host). */
  hostPattern: string
  /** argv prefix of our program: [absolute node, absolute script]. */
  program: string[]
  server: string
  /** Directory for keys and certificates as ssh should see it, e.g. `~/.jitssh/certs`. */
  certsDir: string
  platform: Platform
}

/** The text of our two `Match final host` blocks, between marker lines, with the platform's quoting. */
export declare function renderManagedBlock(input: ManagedBlockInput, eol?: '\n' | '\r\n'): string
/** Inserts or replaces the block for `hostPattern` (markers name it) before the first Host/Match line; idempotent. */
export declare function upsertManagedBlock(existing: string, block: string, hostPattern: string): string
/** Removes the block for `hostPattern`; the text outside it is returned byte for byte. */
export declare function removeManagedBlock(existing: string, hostPattern: string): string
/** Quotes one argument for the platform's ssh `Match exec` / `ProxyCommand` command line. */
export declare function quoteArg(arg: string, platform: Platform): string
