// Wall-clock time in a named time zone with Intl only: the zone is TZ from the context's environment when it
// names an IANA zone, else the system's. Used to show audit times as local time with the zone's abbreviation
// (`2026-11-19 14:03:12 CET`) and to read local times the person types.

export interface WallClock {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let found = formatters.get(key)
  if (!found) {
    found = make()
    formatters.set(key, found)
  }
  return found
}

/** TZ (an IANA name such as Europe/Berlin, optionally with POSIX's leading ':') when valid, else the system zone. */
export function resolveTimeZone(env: Record<string, string | undefined>): string {
  const tz = env.TZ?.replace(/^:/, '')
  if (tz) {
    try {
      return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone
    } catch {
      // A POSIX rule such as CET-1CEST: Intl cannot use it; the process's own zone already follows it.
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone
}

export function wallClock(ms: number, timeZone: string): WallClock {
  const parts = formatter(`wall ${timeZone}`, () =>
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }),
  ).formatToParts(new Date(ms))
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((part) => part.type === type)?.value)
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') }
}

const asUtc = (wall: WallClock): number => Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second)

/** The zone's offset from UTC at `ms`, in ms (Europe/Berlin in winter: +3_600_000). */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  return asUtc(wallClock(ms, timeZone)) - Math.floor(ms / 1000) * 1000
}

/**
 * The instant a wall-clock time names in the zone. In the hour skipped by a DST change, the time after it;
 * in the repeated hour, the first one.
 */
export function wallClockToMs(wall: WallClock, timeZone: string): number {
  const naive = asUtc(wall)
  // The offsets a day before and after bracket any DST change: try both.
  const candidates = [naive - zoneOffsetMs(naive - 86_400_000, timeZone), naive - zoneOffsetMs(naive + 86_400_000, timeZone)]
  const exact = candidates.filter((ms) => asUtc(wallClock(ms, timeZone)) === naive)
  return exact.length > 0 ? Math.min(...exact) : Math.max(...candidates)
}

/** `CET`, `EST`, `UTC`, or `GMT+9` where no abbreviation is in common use. */
export function zoneAbbreviation(ms: number, timeZone: string): string {
  let name = ''
  for (const locale of ['en-US', 'en-GB']) {
    const part = formatter(`zone ${locale} ${timeZone}`, () => new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' }))
      .formatToParts(new Date(ms))
      .find((p) => p.type === 'timeZoneName')?.value
    name = part ?? name
    if (part && !/^GMT[+-]/.test(part)) return part
  }
  return name || 'UTC'
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0')

/** `2026-11-19 14:03:12 CET` */
export function formatLocalTime(ms: number, timeZone: string): string {
  const w = wallClock(ms, timeZone)
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)} ${zoneAbbreviation(ms, timeZone)}`
}
