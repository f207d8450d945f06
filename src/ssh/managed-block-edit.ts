// Inserting, replacing and removing our block in someone's ssh_config text, keeping every other byte:
// line endings (CRLF stays CRLF), a BOM, comments, tabs, `Key=Value`, a missing final newline. The text is
// handled as lines with their own terminators; nothing outside our marker lines is ever re-serialised.
//
// Placement: before the first `Host`/`Match` line outside any jitssh block (and before the comment lines
// directly above it, which describe that Host), so the user's global options above stay global and no
// user Host block swallows our lines; at the end when the file has no Host/Match line at all. A second
// upsert replaces the block in place, so the text is then identical; removal restores the original.
import { SshFormatError } from './errors.js'
import { parseHostSpec } from './host-spec.js'
import { MARKER_END_PREFIX, MARKER_START_PREFIX, endMarker, startMarker, type Eol } from './managed-block-render.js'

interface Line {
  text: string
  eol: '' | '\n' | '\r\n'
}

/** A jitssh block found in the text: its host pattern and 0-based first/last line indexes. */
export interface ManagedBlockLocation {
  hostPattern: string
  startLine: number
  endLine: number
}

const BOM = '\uFEFF'

function splitLines(body: string): Line[] {
  const lines: Line[] = []
  let from = 0
  while (from < body.length) {
    const newline = body.indexOf('\n', from)
    if (newline === -1) {
      lines.push({ text: body.slice(from), eol: '' })
      break
    }
    const crlf = newline > from && body[newline - 1] === '\r'
    lines.push({ text: body.slice(from, crlf ? newline - 1 : newline), eol: crlf ? '\r\n' : '\n' })
    from = newline + 1
  }
  return lines
}

const joinLines = (lines: readonly Line[]) => lines.map((line) => line.text + line.eol).join('')

/** The line ending the text uses (that of its first line), or undefined when it has no line break. */
export function detectEol(text: string): Eol | undefined {
  const newline = text.indexOf('\n')
  if (newline === -1) return undefined
  return newline > 0 && text[newline - 1] === '\r' ? '\r\n' : '\n'
}

type Marker = { kind: 'start' | 'end'; hostPattern: string }

function invalidConfig(lineIndex: number, why: string): SshFormatError {
  return new SshFormatError(
    'ERR_INVALID_CONFIG',
    `ssh config line ${lineIndex + 1}: ${why}; the jitssh marker lines look hand-edited, fix them by hand (nothing was changed)`,
  )
}

function parseMarker(text: string, lineIndex: number): Marker | undefined {
  const trimmed = text.replace(/^[ \t]+|[ \t\r]+$/g, '')
  const kind = trimmed.startsWith(MARKER_START_PREFIX.trimEnd()) ? 'start' : trimmed.startsWith(MARKER_END_PREFIX.trimEnd()) ? 'end' : undefined
  if (kind === undefined) return undefined
  const match = kind === 'start' ? /^# >>> jitssh (\S+) >>>$/.exec(trimmed) : /^# <<< jitssh (\S+) <<<$/.exec(trimmed)
  if (match === null) throw invalidConfig(lineIndex, `malformed jitssh marker "${trimmed.slice(0, 80)}"`)
  return { kind, hostPattern: match[1] as string }
}

/** Every jitssh block in the text, in order. Throws ERR_INVALID_CONFIG for unbalanced, nested or duplicated markers. */
function locateBlocks(lines: readonly Line[]): ManagedBlockLocation[] {
  const blocks: ManagedBlockLocation[] = []
  let open: { hostPattern: string; line: number } | undefined
  lines.forEach((line, index) => {
    const marker = parseMarker(line.text, index)
    if (marker === undefined) return
    if (marker.kind === 'start') {
      if (open !== undefined) throw invalidConfig(index, `a block for ${marker.hostPattern} starts inside the block for ${open.hostPattern} opened on line ${open.line + 1}`)
      const earlier = blocks.find((block) => block.hostPattern === marker.hostPattern)
      if (earlier !== undefined) throw invalidConfig(index, `a second block for ${marker.hostPattern} (the first starts on line ${earlier.startLine + 1})`)
      open = { hostPattern: marker.hostPattern, line: index }
      return
    }
    if (open === undefined) throw invalidConfig(index, `an end marker for ${marker.hostPattern} without its start marker`)
    if (open.hostPattern !== marker.hostPattern) {
      throw invalidConfig(index, `an end marker for ${marker.hostPattern} closes the block for ${open.hostPattern} opened on line ${open.line + 1}`)
    }
    blocks.push({ hostPattern: open.hostPattern, startLine: open.line, endLine: index })
    open = undefined
  })
  if (open !== undefined) throw invalidConfig(open.line, `the block for ${open.hostPattern} is never closed`)
  return blocks
}

/** The jitssh blocks in ssh_config text (throws ERR_INVALID_CONFIG when the markers are hand-broken). */
export function findManagedBlocks(existing: string): ManagedBlockLocation[] {
  return locateBlocks(splitLines(existing.startsWith(BOM) ? existing.slice(1) : existing))
}

const HOST_OR_MATCH = /^[ \t]*(host|match)([ \t]*=|[ \t]|$)/i
const COMMENT = /^[ \t]*#/

/** Where a new block goes: before the first Host/Match line outside our blocks and the comments right above it. */
function insertionIndex(lines: readonly Line[], blocks: readonly ManagedBlockLocation[]): number {
  const inBlock = (index: number) => blocks.some((block) => index >= block.startLine && index <= block.endLine)
  const first = lines.findIndex((line, index) => !inBlock(index) && HOST_OR_MATCH.test(line.text))
  if (first === -1) return lines.length
  let index = first
  while (index > 0 && !inBlock(index - 1) && COMMENT.test((lines[index - 1] as Line).text)) index--
  return index
}

/** The block's lines, checked to be exactly one block for hostPattern, with the file's line ending. */
function blockLines(block: string, hostPattern: string, eol: Eol): Line[] {
  const lines = splitLines(block).map((line) => ({ text: line.text, eol }))
  const markers = lines.map((line, index) => parseMarker(line.text, index))
  const ok =
    lines.length >= 2 &&
    (lines[0] as Line).text === startMarker(hostPattern) &&
    (lines[lines.length - 1] as Line).text === endMarker(hostPattern) &&
    markers.filter((marker) => marker !== undefined).length === 2
  if (!ok) throw new SshFormatError('ERR_INVALID_CONFIG', `internal: the block to write is not one jitssh block for ${hostPattern}`)
  return lines
}

function checkedPattern(hostPattern: string): string {
  return parseHostSpec(hostPattern, { allowPattern: true, allowPort: false }).host
}

/** Inserts or replaces the block for `hostPattern` (markers name it) before the first Host/Match line; idempotent. */
export function upsertManagedBlock(existing: string, block: string, hostPattern: string): string {
  const pattern = checkedPattern(hostPattern)
  const bom = existing.startsWith(BOM) ? BOM : ''
  const lines = splitLines(existing.slice(bom.length))
  const blocks = locateBlocks(lines)
  const eol = detectEol(existing) ?? detectEol(block) ?? '\n'
  const fresh = blockLines(block, pattern, eol)
  const current = blocks.find((found) => found.hostPattern === pattern)
  if (current !== undefined) {
    // In place; a block that ends the file without a final newline keeps ending it that way.
    if ((lines[current.endLine] as Line).eol === '') (fresh[fresh.length - 1] as Line).eol = ''
    lines.splice(current.startLine, current.endLine - current.startLine + 1, ...fresh)
    return bom + joinLines(lines)
  }
  const at = insertionIndex(lines, blocks)
  const last = lines[lines.length - 1]
  if (at === lines.length && last !== undefined && last.eol === '') {
    // No final newline: give the last line one and let our block end the file without one, so that
    // removal (which takes that line break back) restores the original exactly.
    last.eol = eol
    ;(fresh[fresh.length - 1] as Line).eol = ''
  }
  lines.splice(at, 0, ...fresh)
  return bom + joinLines(lines)
}

/** Removes the block for `hostPattern`; the text outside it is returned byte for byte. No block: unchanged. */
export function removeManagedBlock(existing: string, hostPattern: string): string {
  const pattern = checkedPattern(hostPattern)
  const bom = existing.startsWith(BOM) ? BOM : ''
  const lines = splitLines(existing.slice(bom.length))
  const current = locateBlocks(lines).find((found) => found.hostPattern === pattern)
  if (current === undefined) return existing
  const endsFileWithoutNewline = (lines[current.endLine] as Line).eol === ''
  lines.splice(current.startLine, current.endLine - current.startLine + 1)
  const before = lines[current.startLine - 1]
  if (endsFileWithoutNewline && before !== undefined) before.eol = ''
  return bom + joinLines(lines)
}
