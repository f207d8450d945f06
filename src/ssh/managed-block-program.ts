// The program a jitssh block runs, read back from its ProxyCommand and Match exec lines (exactly as
// managed-block-render.ts writes them), and replaced there with another one, every other byte kept. The
// client uses it to find blocks whose program is gone (a Node upgrade, a reinstall elsewhere) and to point
// them at the stable launcher (src/client/ssh-config/launcher.ts).
import { SshFormatError } from './errors.js'
import type { Platform } from './command-quoting.js'
import { execProgramWords, proxyProgramWords } from './managed-block-render.js'
import { assertArgvSplitAccepts, splitLikeArgvSplit, splitLikeStrdelim } from './ssh-config-tokenizers.js'

/** The argv before `ssh` / `ssh-gen` in a block's two command lines; null where the line is missing or unreadable. */
export interface BlockPrograms {
  proxy: string[] | null
  exec: string[] | null
}

interface Word {
  value: string
  start: number
  end: number
}

/** `%%` is ssh's escape for a literal `%` in both lines (it expands tokens before the shell sees the text). */
const unescapePercent = (text: string) => text.replaceAll('%%', '%')

/**
 * POSIX shell words as our quoting writes them: `'...'`, `"..."`, `\x`, bare characters, and the two
 * substitutions quotePosixArgForMatchExec uses for quotes, `$(printf '\047')` and `$(printf '\042')`.
 * Stops at the first word equal to `stop`. Null for anything else (the line was not written by us).
 */
function posixWords(text: string, stop: string): Word[] | null {
  const words: Word[] = []
  let i = 0
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++
      continue
    }
    const start = i
    let value = ''
    while (i < text.length && text[i] !== ' ' && text[i] !== '\t') {
      const ch = text[i] as string
      if (ch === "'") {
        const close = text.indexOf("'", i + 1)
        if (close === -1) return null
        value += text.slice(i + 1, close)
        i = close + 1
      } else if (ch === '"') {
        let j = i + 1
        for (; j < text.length && text[j] !== '"'; j++) {
          if (text[j] === '\\' && '"\\$`'.includes(text[j + 1] ?? '')) j++
          value += text[j]
        }
        if (j >= text.length) return null
        i = j + 1
      } else if (ch === '\\') {
        if (i + 1 >= text.length) return null
        value += text[i + 1]
        i += 2
      } else if (text.startsWith("$(printf '\\047')", i)) {
        value += "'"
        i += "$(printf '\\047')".length
      } else if (text.startsWith("$(printf '\\042')", i)) {
        value += '"'
        i += "$(printf '\\042')".length
      } else if ('$`;&|<>()*?[~'.includes(ch)) {
        return null
      } else {
        value += ch
        i++
      }
    }
    if (value === stop) return words
    words.push({ value: unescapePercent(value), start, end: i })
  }
  return null
}

/** Windows words: MSVCRT rules for `"..."` (CommandLineToArgvW), bare words otherwise. */
function win32Words(text: string, stop: string): Word[] | null {
  const words: Word[] = []
  let i = 0
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++
      continue
    }
    const start = i
    let value = ''
    let quoted = false
    while (i < text.length && (quoted || (text[i] !== ' ' && text[i] !== '\t'))) {
      const ch = text[i] as string
      if (ch === '\\') {
        let n = 0
        while (text[i] === '\\') {
          n++
          i++
        }
        if (text[i] === '"') {
          value += '\\'.repeat(Math.floor(n / 2))
          if (n % 2 === 1) {
            value += '"'
            i++
          }
        } else {
          value += '\\'.repeat(n)
        }
      } else if (ch === '"') {
        quoted = !quoted
        i++
      } else {
        value += ch
        i++
      }
    }
    if (quoted) return null
    if (value === stop) return words
    words.push({ value: unescapePercent(value), start, end: i })
  }
  return null
}

const wordsOf = (platform: Platform) => (platform === 'win32' ? win32Words : posixWords)

/** The ProxyCommand line's command (after the keyword) and where it starts in the line. */
function proxyCommandOf(line: string): { command: string; at: number } | null {
  const match = /^([ \t]*ProxyCommand[ \t]+)(.*?)\r?$/.exec(line)
  return match === null ? null : { command: match[2] as string, at: (match[1] as string).length }
}

/** The Match exec line's command (inside `exec "..."`) and where it starts in the line. */
function execCommandOf(line: string): { command: string; at: number } | null {
  // The POSIX block's exec section also has a `user "..."` guard between the host and exec.
  if (!/^[ \t]*Match[ \t]+final[ \t]+host[ \t]+\S+([ \t]+user[ \t]+"[^"]*")?[ \t]+exec[ \t]+"/.test(line)) return null
  const open = line.indexOf('exec "') + 'exec "'.length
  const close = line.lastIndexOf('"')
  return close > open ? { command: line.slice(open, close), at: open } : null
}

function programIn(found: { command: string } | null, stop: string, platform: Platform): Word[] | null {
  if (found === null) return null
  const words = wordsOf(platform)(found.command, stop)
  return words === null || words.length === 0 ? null : words
}

/** The programs a block's two command lines run (the block's text between and including its markers). */
export function readBlockPrograms(block: string, platform: Platform): BlockPrograms {
  const programs: BlockPrograms = { proxy: null, exec: null }
  for (const line of block.split('\n')) {
    programs.proxy ??= programIn(proxyCommandOf(line), 'ssh', platform)?.map((word) => word.value) ?? null
    programs.exec ??= programIn(execCommandOf(line), 'ssh-gen', platform)?.map((word) => word.value) ?? null
  }
  return programs
}

function replaceProgram(line: string, found: { command: string; at: number }, words: Word[], replacement: string): string {
  const from = found.at + (words[0] as Word).start
  const to = found.at + (words[words.length - 1] as Word).end
  return line.slice(0, from) + replacement + line.slice(to)
}

/**
 * The block with both command lines running `program` (the exec line `execProgram`, default `program`);
 * everything else byte for byte. Throws ERR_INVALID_CONFIG when a line cannot be read as ours.
 */
export function repointBlockPrograms(block: string, program: readonly string[], platform: Platform, execProgram: readonly string[] = program): string {
  let sawProxy = false
  let sawExec = false
  const lines = block.split('\n').map((line) => {
    const proxy = proxyCommandOf(line)
    const proxyWords = programIn(proxy, 'ssh', platform)
    if (proxy !== null && proxyWords !== null) {
      sawProxy = true
      const next = replaceProgram(line, proxy, proxyWords, proxyProgramWords(program, platform))
      assertArgvSplitAccepts(next.replace(/\r$/, '').trim())
      return next
    }
    const exec = execCommandOf(line)
    const execWords = programIn(exec, 'ssh-gen', platform)
    if (exec !== null && execWords !== null) {
      sawExec = true
      const next = replaceProgram(line, exec, execWords, execProgramWords(execProgram, platform))
      const text = next.replace(/\r$/, '')
      const words = splitLikeStrdelim(text)?.length
      if (splitLikeArgvSplit(text) === null || (words !== 6 && words !== 8)) {
        throw new SshFormatError('ERR_INVALID_CONFIG', `internal: the repointed Match exec line would not read back: ${text}`)
      }
      return next
    }
    return line
  })
  if (!sawProxy || !sawExec) throw new SshFormatError('ERR_INVALID_CONFIG', 'the jitssh block has no ProxyCommand or Match exec line it wrote; rewrite it with jitssh ssh-config --write')
  return lines.join('\n')
}
