// A recording as text: its output and resizes played into a headless xterm.js (@xterm/headless, loaded only
// here), so colours, cursor moves and other escape sequences are applied instead of leaking into the text;
// then the screen and its scrollback, line by line.
import { JitsshError } from '../shared/errors.js'
import { parseAsciicast, parseResize } from '../shared/asciicast.js'

/** Lines kept above the screen: enough for long sessions (about 200 bytes each in memory). */
const SCROLLBACK = 200_000

export async function renderCastText(castText: string): Promise<string> {
  let cast: ReturnType<typeof parseAsciicast>
  try {
    cast = parseAsciicast(castText)
  } catch (error) {
    throw new JitsshError('ERR_SERVER', `the recording is not asciicast v2: ${(error as Error).message}`)
  }
  const headless = (await import('@xterm/headless')) as unknown as { default: typeof import('@xterm/headless') }
  const term = new headless.default.Terminal({ cols: cast.header.width, rows: cast.header.height, scrollback: SCROLLBACK, allowProposedApi: true })
  // xterm.js parses writes later but resizes at once: each resize waits for the output before it.
  const written = (data: string): Promise<void> => new Promise((resolve) => term.write(data, resolve))
  let output = ''
  for (const event of cast.events) {
    if (event.type === 'o') output += event.data
    const size = event.type === 'r' ? parseResize(event.data) : undefined
    if (!size) continue
    await written(output)
    output = ''
    term.resize(size.cols, size.rows)
  }
  await written(output)
  const buffer = term.buffer.normal
  const lines: string[] = []
  for (let row = 0; row < buffer.length; row++) {
    const line = buffer.getLine(row)
    if (!line) continue
    const text = line.translateToString(false)
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text
    else lines.push(text)
  }
  term.dispose()
  for (let index = 0; index < lines.length; index++) lines[index] = lines[index]!.trimEnd()
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}
