// The two ways OpenSSH splits an ssh_config line into words, re-implemented so that we can prove every
// line we render reads back as we meant it, whichever OpenSSH reads it.
//
// - argv_split() (misc.c, OpenSSH >= 8.7): every line goes through it; a line whose quotes do not
//   balance is rejected ("invalid quotes"). Double and single quotes group; a backslash escapes `\`,
//   `'` and `"` (inside and outside quotes) and a space (outside quotes); any other backslash is kept.
//   From OpenSSH 9.9 the client's `Match` criteria are these words, so inside `exec "..."` a `\'`,
//   `\"` or `\\` loses its backslash.
// - strdelim() (misc.c): what `Match` used up to OpenSSH 9.8 (Debian 12's 9.2, Win32-OpenSSH): words end
//   at whitespace or `=`; a `"` starts a group that ends at the next `"`, with no escapes at all. So a
//   `"` can never appear inside `exec "..."` there.
// ProxyCommand is neither: it takes the rest of the line verbatim (argv_split only has to succeed).
import { SshFormatError } from './errors.js'

/** argv_split(s, terminate_on_comment = 1): the words, or null where OpenSSH says "invalid quotes". */
export function splitLikeArgvSplit(line: string): string[] | null {
  const words: string[] = []
  let i = 0
  while (i < line.length) {
    if (line[i] === ' ' || line[i] === '\t') {
      i++
      continue
    }
    if (line[i] === '#') break
    let quote = ''
    let word = ''
    for (; i < line.length; i++) {
      const ch = line[i] as string
      const next = line[i + 1]
      if (ch === '\\') {
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          word += next
          i++
        } else {
          word += ch
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch
      } else if (quote !== '' && ch === quote) {
        quote = ''
      } else {
        word += ch
      }
    }
    if (quote !== '') return null
    words.push(word)
  }
  return words
}

const WHITESPACE = ' \t\r\n'

/** Repeated strdelim() over a line, as match_cfg_line up to 9.8 did: the words, or null on an unmatched quote. */
export function splitLikeStrdelim(line: string): string[] | null {
  const words: string[] = []
  let rest = line.replace(/^[ \t\r\n]+/, '')
  while (rest !== '') {
    let end = 0
    while (end < rest.length && !WHITESPACE.includes(rest[end] as string) && rest[end] !== '"' && rest[end] !== '=') end++
    if (end === rest.length) {
      words.push(rest)
      break
    }
    if (rest[end] === '"') {
      const close = rest.indexOf('"', end + 1)
      if (close === -1) return null
      words.push(rest.slice(0, end) + rest.slice(end + 1, close))
      rest = rest.slice(close + 1).replace(/^[ \t\r\n]+/, '')
      continue
    }
    words.push(rest.slice(0, end))
    const separatorIsEquals = rest[end] === '='
    rest = rest.slice(end + 1).replace(/^[ \t\r\n]+/, '')
    if (!separatorIsEquals && rest.startsWith('=')) rest = rest.slice(1).replace(/^[ \t\r\n]+/, '')
  }
  return words
}

/**
 * Throws unless `line` (keyword and arguments, no line break) reads back as `expected` under both
 * tokenizers. For lines whose words matter (Match, IdentityFile, ...).
 */
export function assertConfigWords(line: string, expected: readonly string[]): void {
  const viaArgv = splitLikeArgvSplit(line)
  const viaStrdelim = splitLikeStrdelim(line)
  const same = (words: string[] | null) =>
    words !== null && words.length === expected.length && words.every((word, i) => word === expected[i])
  if (!same(viaArgv) || !same(viaStrdelim)) {
    throw new SshFormatError('ERR_INVALID_CONFIG', `internal: the ssh_config line would not read back as written: ${line}`)
  }
}

/** Throws unless argv_split accepts the line (balanced quotes): the check every OpenSSH >= 8.7 applies. */
export function assertArgvSplitAccepts(line: string): void {
  if (splitLikeArgvSplit(line) === null) {
    throw new SshFormatError('ERR_INVALID_CONFIG', `internal: OpenSSH would reject this ssh_config line (invalid quotes): ${line}`)
  }
}
