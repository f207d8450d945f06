// What a person may type for `jitssh audit --since/--until`, read as local time (the context's zone) unless
// a zone is given, and turned into ISO 8601 UTC for the server.
import { JitsshError } from '../../shared/errors.js'
import { wallClock, wallClockToMs, type WallClock } from '../../shared/zoned-time.js'

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']

const RELATIVE = /^(?:\d+[smhdw])+$/
const WITH_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i
const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/i
const DAY_NAME = /^(?:last\s+)?([a-z]+)(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/
const UNIX = /^@?\d{9,12}$/

export const TIME_INPUT_HELP = '2h, 3d, 14:00, 2026-11-19, "2026-11-19 14:00", "thursday 14:00", yesterday, or ISO 8601 with a zone'

function dayName(word: string): number | 'today' | 'yesterday' | undefined {
  if (word === 'today' || word === 'yesterday') return word
  const index = WEEKDAYS.findIndex((day) => day === word || day.slice(0, 3) === word)
  return index >= 0 ? index : undefined
}

function checkedWall(wall: WallClock): WallClock | undefined {
  const probe = new Date(Date.UTC(wall.year, wall.month - 1, wall.day))
  const dateOk = probe.getUTCFullYear() === wall.year && probe.getUTCMonth() === wall.month - 1 && probe.getUTCDate() === wall.day
  return dateOk && wall.hour <= 23 && wall.minute <= 59 && wall.second <= 59 ? wall : undefined
}

/** Milliseconds since the epoch for the input, or undefined when it is none of the accepted forms. */
function readTime(text: string, nowMs: number, timeZone: string): number | undefined {
  if (text === 'now') return nowMs
  if (RELATIVE.test(text)) {
    let total = 0
    for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * UNIT_MS[unit!]!
    return nowMs - total
  }
  if (UNIX.test(text)) return Number(text.replace('@', '')) * 1000
  if (WITH_ZONE.test(text)) {
    const normalised = text.toUpperCase().replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
    const ms = Date.parse(normalised)
    const date = LOCAL.exec(text.slice(0, 10))
    return Number.isFinite(ms) && date && checkedWall({ year: Number(date[1]), month: Number(date[2]), day: Number(date[3]), hour: 0, minute: 0, second: 0 }) ? ms : undefined
  }
  const local = LOCAL.exec(text)
  if (local) {
    const [, y, mo, d, h = '0', mi = '0', s = '0'] = local
    const wall = checkedWall({ year: Number(y), month: Number(mo), day: Number(d), hour: Number(h), minute: Number(mi), second: Number(s) })
    return wall && wallClockToMs(wall, timeZone)
  }
  if (/^\d{1,2}:\d{2}(?::\d{2})?$/.test(text)) return readTime(`today ${text}`, nowMs, timeZone)
  const named = DAY_NAME.exec(text)
  const day = named ? dayName(named[1]!) : undefined
  if (named && day !== undefined) {
    const today = wallClock(nowMs, timeZone)
    const todayIndex = new Date(Date.UTC(today.year, today.month - 1, today.day)).getUTCDay()
    // A weekday name is the last such day before today (1 to 7 days ago); `today` and `yesterday` as said.
    const daysAgo = day === 'today' ? 0 : day === 'yesterday' ? 1 : ((todayIndex - day + 6) % 7) + 1
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day - daysAgo))
    const wall = checkedWall({
      year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(),
      hour: Number(named[2] ?? 0), minute: Number(named[3] ?? 0), second: Number(named[4] ?? 0),
    })
    return wall && wallClockToMs(wall, timeZone)
  }
  return undefined
}

/** `--since`/`--until` input → ISO 8601 UTC; a usage error (exit 2) naming the accepted forms otherwise. */
export function parseTimeInput(input: string, flag: string, nowMs: number, timeZone: string): string {
  const text = input.trim().toLowerCase().replace(/\s+/g, ' ')
  const ms = readTime(text, nowMs, timeZone)
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms >= Date.UTC(10000, 0, 1)) {
    throw new JitsshError('ERR_USAGE', `${flag}: cannot read ${JSON.stringify(input.slice(0, 60))} as a time`, { hint: `use e.g. ${TIME_INPUT_HELP}` })
  }
  return new Date(ms).toISOString()
}
