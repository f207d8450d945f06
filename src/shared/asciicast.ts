/**
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then one JSON array
 * per event, `[seconds, type, data]`: "o" output, "i" input, "r" resize ("80x24"). The server writes it, the
 * player and `jitssh recordings export` read it.
 */

export interface AsciicastHeader {
  version: 2
  width: number
  height: number
  /** Unix seconds of the start. */
  timestamp?: number
  title?: string
  env?: Record<string, string>
}

export interface AsciicastEvent {
  time: number
  type: string
  data: string
}

export interface Asciicast {
  header: AsciicastHeader
  events: AsciicastEvent[]
}

export function asciicastHeaderLine(header: AsciicastHeader): string {
  return `${JSON.stringify(header)}\n`
}

/** One event line; times keep microseconds, as asciinema writes them. */
export function asciicastEventLine(seconds: number, type: string, data: string): string {
  return `${JSON.stringify([Math.round(seconds * 1e6) / 1e6, type, data])}\n`
}

/** Parses a whole recording; throws an Error naming the first bad line. */
export function parseAsciicast(text: string): Asciicast {
  const lines = text.split('\n').filter((line) => line.trim() !== '')
  const header = parseLine(lines[0] ?? '', 1) as Partial<AsciicastHeader>
  if (header?.version !== 2 || !isSize(header.width) || !isSize(header.height)) throw new Error('line 1: not an asciicast v2 header')
  const events = lines.slice(1).map((line, index) => {
    const event = parseLine(line, index + 2)
    if (!Array.isArray(event) || typeof event[0] !== 'number' || typeof event[1] !== 'string' || typeof event[2] !== 'string') {
      throw new Error(`line ${index + 2}: not an asciicast event`)
    }
    return { time: event[0], type: event[1], data: event[2] }
  })
  return { header: header as AsciicastHeader, events }
}

/** The size in an "r" event ("80x24"), or undefined. */
export function parseResize(data: string): { cols: number; rows: number } | undefined {
  const match = /^(\d{1,4})x(\d{1,4})$/.exec(data)
  if (!match) return undefined
  const size = { cols: Number(match[1]), rows: Number(match[2]) }
  return size.cols > 0 && size.rows > 0 ? size : undefined
}

function parseLine(line: string, number: number): unknown {
  try {
    return JSON.parse(line) as unknown
  } catch {
    throw new Error(`line ${number}: not JSON`)
  }
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 10_000
}
