// Text that came from the server (names, groups, codes, messages, table cells), made safe to show to a person
// on a terminal: one line, no control characters (C0, DEL, C1: an 8-bit CSI, U+009B, starts an escape
// sequence as ESC [ does), no bidi overrides or isolates (U+202A-U+202E, U+2066-U+2069), and none of the
// other invisible formatting characters that can make text look like other text (zero-width characters,
// direction marks, tag characters, ...). Every place the CLI shows server text goes through here.

/** Line breaks and tabs: shown as a space, so that words stay apart. */
const BREAKS = /[\t\n\v\f\r\x85\u2028\u2029]/g
/**
 * Controls (Cc), format characters (Cf: bidi controls, zero-width characters, tags, ...), lone surrogates (Cs)
 * and whatever else Unicode says to draw as nothing (Default_Ignorable_Code_Point: fillers, joiners).
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu

/** `text` on one line, each unsafe character shown as `?` (so a person sees that something was there). */
export function terminalSafe(text: string): string {
  // Emoji presentation selectors (U+FE00-U+FE0F) are default-ignorable too, but only choose a glyph's style.
  return text.replace(BREAKS, ' ').replace(UNSAFE, (c) => (c >= '\ufe00' && c <= '\ufe0f' ? c : '?'))
}

/** The first line of a message from the server, made safe, at most 300 UTF-16 units; '' for a non-string. */
export function firstLine(value: unknown): string {
  if (typeof value !== 'string') return ''
  const line = terminalSafe(value.split(/\r?\n|\r/, 1)[0] ?? '')
  // Cut between code points: half a surrogate pair is itself an unsafe character.
  return line.length <= 300 ? line : line.slice(0, 300).replace(/[\ud800-\udbff]$/, '')
}

/** What JSON.stringify leaves raw in strings (it escapes C0 and lone surrogates itself). */
const JSON_RAW = /[\x7f-\x9f\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu

/** JSON for a terminal: JSON.stringify's, with DEL, C1, bidi and other format characters escaped too. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(JSON_RAW, (c) => {
    let escaped = ''
    for (let i = 0; i < c.length; i++) escaped += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`
    return escaped
  })
}

/** A copy of a server's answer with every string in it made terminal-safe (for human output; --json uses jsonText). */
export function terminalSafeDeep<T>(value: T): T {
  if (typeof value === 'string') return terminalSafe(value) as T
  if (Array.isArray(value)) return value.map((item: unknown) => terminalSafeDeep(item)) as T
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, terminalSafeDeep(item)])) as T
  return value
}
