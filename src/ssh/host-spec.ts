// Host-name validation: the gate every name passes before it touches a path or an ssh_config line.
// Strict on purpose: lower-case DNS names (or IPv4 literals), `*`/`?` only where a pattern is wanted,
// an optional `:port` only where one is wanted. Anything that could start a new config line, a new
// shell word, a new path segment or a new argv option is refused with a message that names it.
import { SshFormatError } from './errors.js'

// A dotted-quad IPv4 literal as node:net's isIPv4 reads it (0-255, no leading zeros). Not imported from
// node:net: loading that module costs the ssh-gen fast path ~6 ms, a fifth of node's start-up.
const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])'
const IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`)
const isIPv4 = (name: string): boolean => IPV4.test(name)

/** A validated host name or pattern: lower-case DNS name, `*`/`?` patterns allowed, optional port. */
export interface HostSpec {
  host: string
  port: number | undefined
}

export interface HostSpecOptions {
  /** Accept `*` and `?` wildcards (ssh_config patterns such as `*.prod.example.com`). */
  allowPattern?: boolean
  /** Accept a trailing `:port` (1-65535). */
  allowPort?: boolean
}

const MAX_NAME_LENGTH = 253
const MAX_LABEL_LENGTH = 63

/** Characters refused with a name of their own, so the message says exactly what is wrong. */
const NAMED_CHARACTERS: ReadonlyMap<string, string> = new Map([
  ['\n', 'a newline'],
  ['\r', 'a carriage return'],
  ['\0', 'a NUL byte'],
  ['\t', 'a tab'],
  [' ', 'a space'],
  ['"', 'a double quote'],
  ["'", 'a single quote'],
  ['`', 'a backquote'],
  ['%', "'%' (ssh would expand it as a token)"],
  ['/', "'/' (a path separator)"],
  ['\\', "'\\' (a path separator on Windows)"],
  ['#', "'#' (it starts an ssh_config comment)"],
  ['=', "'=' (ssh_config reads it as a separator)"],
  [',', "',' (ssh_config reads it as a pattern-list separator)"],
  ['!', "'!' (ssh_config reads it as a negation)"],
  ['$', "'$' (shells and ssh_config expand it)"],
  ['@', "'@' (a user@host form is not a host name)"],
  ['[', "'[' (IPv6 literals are not supported)"],
  [']', "']' (IPv6 literals are not supported)"],
])

/** One printable line naming the input: control and non-ASCII characters escaped, long input cut. */
export function describeForMessage(input: string): string {
  let out = ''
  for (const ch of input) {
    const code = ch.codePointAt(0) as number
    if (code >= 0x20 && code < 0x7f && ch !== '"' && ch !== '\\') out += ch
    else if (ch === '"' || ch === '\\') out += `\\${ch}`
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`
    else out += `\\u{${code.toString(16)}}`
    if (out.length > 80) return `"${out.slice(0, 80)}…"`
  }
  return `"${out}"`
}

function invalid(input: string, why: string): SshFormatError {
  return new SshFormatError('ERR_INVALID_HOSTNAME', `invalid host name ${describeForMessage(input)}: ${why}`)
}

/** The first character (in input order) no host name may contain, described; undefined when there is none. */
function forbiddenCharacter(input: string): string | undefined {
  for (const ch of input) {
    const name = NAMED_CHARACTERS.get(ch)
    if (name !== undefined) return `contains ${name}`
    const code = ch.codePointAt(0) as number
    if (code < 0x20 || code === 0x7f) return `contains a control character (U+${code.toString(16).padStart(4, '0')})`
    if (code > 0x7e) {
      return `contains the non-ASCII character U+${code.toString(16).toUpperCase().padStart(4, '0')} (use the punycode xn-- form of international names)`
    }
  }
  return undefined
}

function splitPort(input: string, text: string, allowPort: boolean): { name: string; port: number | undefined } {
  const colon = text.indexOf(':')
  if (colon === -1) return { name: text, port: undefined }
  if (text.indexOf(':', colon + 1) !== -1) throw invalid(input, 'more than one ":" (IPv6 literals are not supported)')
  if (!allowPort) throw invalid(input, 'a ":port" is not allowed here')
  const portText = text.slice(colon + 1)
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    throw invalid(input, `port ${describeForMessage(portText)} is not a number from 1 to 65535`)
  }
  return { name: text.slice(0, colon), port: Number(portText) }
}

function checkLabel(input: string, label: string, allowPattern: boolean): void {
  if (label === '') throw invalid(input, 'has an empty label (a leading dot, or "..")')
  if (label.length > MAX_LABEL_LENGTH) throw invalid(input, `a label is longer than ${MAX_LABEL_LENGTH} characters`)
  const allowed = allowPattern ? /^[a-z0-9*?-]+$/ : /^[a-z0-9-]+$/
  if (!allowed.test(label)) {
    const bad = [...label].find((ch) => !allowed.test(ch)) as string
    if ((bad === '*' || bad === '?') && !allowPattern) throw invalid(input, `'${bad}' patterns are not allowed here`)
    throw invalid(input, `contains ${describeForMessage(bad)}, which is not allowed in a host name`)
  }
  if (label.startsWith('-') || label.endsWith('-')) throw invalid(input, `label "${label}" starts or ends with '-'`)
}

/**
 * Validates `vm.example.com`, `*.prod.example.com` (allowPattern), `vm.example.com:2222` (allowPort),
 * IPv4 literals. Upper case is folded to lower case (DNS and ssh both ignore case). A trailing dot is
 * refused rather than stripped, everywhere, so a name means one thing. A pattern that is only wildcards
 * (`*`, `*.*`, `?*`) is refused: in an ssh_config Match it would send every ssh connection through jitssh.
 * Failures: SshFormatError('ERR_INVALID_HOSTNAME') with one line naming what is wrong.
 */
export function parseHostSpec(input: string, options: HostSpecOptions = {}): HostSpec {
  const allowPattern = options.allowPattern === true
  if (typeof input !== 'string' || input === '') throw invalid(String(input ?? ''), 'it is empty')
  const forbidden = forbiddenCharacter(input)
  if (forbidden !== undefined) throw invalid(input, forbidden)
  if (input.startsWith('-')) throw invalid(input, "starts with '-' (it would be read as a command-line option)")
  const { name: mixedCase, port } = splitPort(input, input, options.allowPort === true)
  const name = mixedCase.toLowerCase()
  if (name === '') throw invalid(input, 'the host part is empty')
  if (name.startsWith('.') || name.includes('..')) throw invalid(input, 'has an empty label (a leading dot, or "..")')
  if (name.endsWith('.')) throw invalid(input, 'ends with a dot (write the name without it)')
  if (name.length > MAX_NAME_LENGTH) throw invalid(input, `longer than ${MAX_NAME_LENGTH} characters`)
  const labels = name.split('.')
  for (const label of labels) checkLabel(input, label, allowPattern)
  if (allowPattern && !/[a-z0-9]/.test(name)) {
    throw invalid(input, 'a pattern of wildcards only would match every host and route every ssh connection through jitssh')
  }
  if (labels.every((label) => /^[0-9]+$/.test(label)) && !isIPv4(name)) {
    throw invalid(input, 'looks like an IPv4 address but is not one')
  }
  return { host: name, port }
}

/**
 * true when the literal host name matches the ssh-style pattern: `*` any run of characters (also
 * none), `?` exactly one, everything else literally and case-insensitively (as ssh's match_pattern).
 * Linear-time two-pointer match: no regular expression built from input.
 */
export function hostMatchesPattern(host: string, pattern: string): boolean {
  const text = host.toLowerCase()
  const pat = pattern.toLowerCase()
  let t = 0
  let p = 0
  let starP = -1
  let starT = 0
  while (t < text.length) {
    if (p < pat.length && (pat[p] === '?' || pat[p] === text[t])) {
      t++
      p++
    } else if (p < pat.length && pat[p] === '*') {
      starP = p++
      starT = t
    } else if (starP !== -1) {
      p = starP + 1
      t = ++starT
    } else {
      return false
    }
  }
  while (p < pat.length && pat[p] === '*') p++
  return p === pat.length
}
