/**
 * A strict reader of the Prometheus text exposition format 0.0.4, line by line, for tests: every line is a
 * `# HELP`, a `# TYPE` or a sample of the family last typed; names, label syntax, escapes and values are
 * checked, and any deviation throws with the line number. Returns the families and their series.
 */
export interface ParsedFamily {
  name: string
  help: string | undefined
  type: string
  samples: Array<{ labels: Record<string, string>; value: number }>
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/

function unescape(text: string, allowQuote: boolean, fail: (why: string) => never): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch !== '\\') {
      if (ch === '\n') fail('raw line feed')
      out += ch
      continue
    }
    const next = text[++i]
    if (next === '\\') out += '\\'
    else if (next === 'n') out += '\n'
    else if (next === '"' && allowQuote) out += '"'
    else fail(`invalid escape \\${next ?? ''}`)
  }
  return out
}

/** `{a="x",b="y\"z"}` → labels; the text must be exactly that (an optional trailing comma is allowed). */
function parseLabels(text: string, fail: (why: string) => never): Record<string, string> {
  const labels: Record<string, string> = {}
  let i = 1
  while (text[i] !== '}') {
    const eq = text.indexOf('=', i)
    if (eq === -1) fail('label without "="')
    const name = text.slice(i, eq)
    if (!LABEL_NAME.test(name)) fail(`invalid label name ${JSON.stringify(name)}`)
    if (Object.hasOwn(labels, name)) fail(`label ${name} twice`)
    if (text[eq + 1] !== '"') fail('label value not quoted')
    let j = eq + 2
    let raw = ''
    while (j < text.length && text[j] !== '"') {
      if (text[j] === '\\') raw += text[j++]
      raw += text[j++] ?? ''
    }
    if (j >= text.length) fail('unterminated label value')
    labels[name] = unescape(raw, true, fail)
    i = j + 1
    if (text[i] === ',') i++
    else if (text[i] !== '}') fail('expected "," or "}" after a label')
  }
  if (i !== text.length - 1) fail('text after "}"')
  return labels
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition does not end with a line feed')
  const families = new Map<string, ParsedFamily>()
  const helps = new Map<string, string>()
  let current: ParsedFamily | undefined
  const seenSeries = new Set<string>()
  text.split('\n').slice(0, -1).forEach((line, index) => {
    const fail = (why: string): never => {
      throw new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`)
    }
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!match) {
        if (/^# (HELP|TYPE)\b/.test(line)) fail('malformed HELP/TYPE line')
        return // a plain comment
      }
      const [, keyword, name, rest] = match as unknown as [string, string, string, string]
      if (!NAME.test(name)) fail('invalid metric name')
      if (keyword === 'HELP') {
        if (helps.has(name)) fail('second HELP for the metric')
        helps.set(name, unescape(rest, false, fail))
        return
      }
      if (!TYPES.has(rest)) fail(`unknown type ${JSON.stringify(rest)}`)
      if (families.has(name)) fail('second TYPE for the metric')
      current = { name, help: helps.get(name), type: rest, samples: [] }
      families.set(name, current)
      return
    }
    if (line.trim() === '') fail('blank line')
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: (-?\d+))?$/.exec(line)
    if (!match) return fail('not a sample line')
    const [, name, labelText, valueText] = match as unknown as [string, string, string | undefined, string]
    if (!current || current.name !== name) fail('sample of a family that was not typed just before it')
    if (!VALUE.test(valueText)) fail(`invalid value ${JSON.stringify(valueText)}`)
    const labels = labelText === undefined ? {} : parseLabels(labelText, fail)
    const key = seriesKey(name, labels)
    if (seenSeries.has(key)) fail('the same series twice')
    seenSeries.add(key)
    current!.samples.push({ labels, value: Number(valueText.replace('Inf', 'Infinity')) })
  })
  return families
}

/** `name{a="x",b="y"}` with labels sorted: a stable key for one series. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))
  return entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
}

/** Every series of every family, by seriesKey. */
export function seriesValues(families: Map<string, ParsedFamily>): Map<string, number> {
  const values = new Map<string, number>()
  for (const family of families.values()) for (const sample of family.samples) values.set(seriesKey(family.name, sample.labels), sample.value)
  return values
}
