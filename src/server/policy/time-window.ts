import { wallClock, wallClockToMs, type WallClock } from '../../shared/zoned-time.js'
import type { TimeWindow } from '../config/types.js'

const DAY_MS = 86_400_000

/** The calendar day after `day` in the zone (from its noon, so a 23- or 25-hour day changes nothing). */
function nextDay(day: WallClock, timeZone: string): WallClock {
  return wallClock(wallClockToMs({ ...day, hour: 12, minute: 0, second: 0 }, timeZone) + DAY_MS, timeZone)
}

/** The instant of `minutes` after midnight on `day` (24:00 is the next day's 00:00). */
function atMinute(day: WallClock, minutes: number, timeZone: string): number {
  const date = minutes >= 24 * 60 ? nextDay(day, timeZone) : day
  const rest = minutes % (24 * 60)
  return wallClockToMs({ ...date, hour: Math.floor(rest / 60), minute: rest % 60, second: 0 }, timeZone)
}

/**
 * When the window that is open at `at` closes (Unix ms), or undefined when it is closed at `at`. A range
 * that crosses midnight belongs to the day it starts on (fri 22:00-02:00 is open at Saturday 01:00). Hours
 * are the zone's wall clock: 08:00-18:00 means that on DST days too.
 */
export function windowClosesAt(window: TimeWindow, at: number): number | undefined {
  const wall = wallClock(at, window.timeZone)
  const weekday = new Date(Date.UTC(wall.year, wall.month - 1, wall.day)).getUTCDay()
  const minute = wall.hour * 60 + wall.minute
  let closes: number | undefined
  for (const { start, end } of window.hours) {
    const crosses = end <= start
    let endsAt: number | undefined
    if (window.days.includes(weekday) && minute >= start && (crosses || minute < end)) {
      endsAt = crosses ? atMinute(nextDay(wall, window.timeZone), end, window.timeZone) : atMinute(wall, end, window.timeZone)
    } else if (crosses && window.days.includes((weekday + 6) % 7) && minute < end) {
      endsAt = atMinute(wall, end, window.timeZone)
    }
    if (endsAt !== undefined) closes = Math.max(closes ?? 0, endsAt)
  }
  return closes
}
