// --since/--until input for jitssh audit, read in a named zone (TZ), and audit times shown in it.
import { describe, expect, it } from 'vitest'
import { JitsshError } from '../../src/shared/errors.js'
import { parseTimeInput } from '../../src/client/admin/time-input.js'
import { formatLocalTime, resolveTimeZone } from '../../src/shared/zoned-time.js'

const SATURDAY_1100_BERLIN = Date.parse('2026-11-21T10:00:00Z')
const read = (input: string, tz = 'Europe/Berlin'): string => parseTimeInput(input, '--since', SATURDAY_1100_BERLIN, tz)

describe('parseTimeInput', () => {
  it.each([
    ['2h', '2026-11-21T08:00:00.000Z'],
    ['1d12h', '2026-11-19T22:00:00.000Z'],
    ['now', '2026-11-21T10:00:00.000Z'],
    ['09:30', '2026-11-21T08:30:00.000Z'],
    ['2026-11-19', '2026-11-18T23:00:00.000Z'],
    ['2026-11-19 14:00', '2026-11-19T13:00:00.000Z'],
    ['2026-07-19T14:00:05', '2026-07-19T12:00:05.000Z'], // summer: CEST
    ['Thursday 14:00', '2026-11-19T13:00:00.000Z'],
    ['last thu 16:00', '2026-11-19T15:00:00.000Z'],
    ['saturday', '2026-11-13T23:00:00.000Z'], // a weekday name is never today: a week ago
    ['yesterday 23:59:59', '2026-11-20T22:59:59.000Z'],
    ['2026-11-19T14:00:00Z', '2026-11-19T14:00:00.000Z'],
    ['2026-11-19 14:00+0530', '2026-11-19T08:30:00.000Z'],
    ['1795000000', '2026-11-18T11:06:40.000Z'],
  ])('%s → %s (Europe/Berlin)', (input, iso) => {
    expect(read(input)).toBe(iso)
  })

  it('reads wall-clock times across DST changes: the skipped hour moves forward, the repeated hour is the first one', () => {
    expect(read('2026-03-29 02:30')).toBe('2026-03-29T01:30:00.000Z') // 03:30 CEST
    expect(read('2026-10-25 02:30')).toBe('2026-10-25T00:30:00.000Z') // the first 02:30 (CEST)
    expect(read('2026-11-19 14:00', 'America/New_York')).toBe('2026-11-19T19:00:00.000Z')
  })

  it.each(['2026-02-30', '25:00', 'tuesday-ish', '10y', '', '2026-11-19 14:00 CET'])('refuses %j as a usage error that lists the forms', (input) => {
    try {
      read(input)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(JitsshError)
      expect((error as JitsshError).code).toBe('ERR_USAGE')
      expect((error as JitsshError).hint).toMatch(/2h, 3d, 14:00, 2026-11-19/)
    }
  })
})

describe('formatLocalTime', () => {
  it('shows local time with the zone abbreviation, or GMT±N where none is in common use', () => {
    const t = Date.parse('2026-11-19T13:03:12Z')
    expect(formatLocalTime(t, 'Europe/Berlin')).toBe('2026-11-19 14:03:12 CET')
    expect(formatLocalTime(Date.parse('2026-07-19T13:03:12Z'), 'Europe/Berlin')).toBe('2026-07-19 15:03:12 CEST')
    expect(formatLocalTime(t, 'America/New_York')).toBe('2026-11-19 08:03:12 EST')
    expect(formatLocalTime(t, 'UTC')).toBe('2026-11-19 13:03:12 UTC')
    expect(formatLocalTime(t, 'Asia/Tokyo')).toBe('2026-11-19 22:03:12 GMT+9')
  })

  it('takes the zone from TZ (IANA, with or without a leading colon), else the system zone', () => {
    expect(resolveTimeZone({ TZ: 'Europe/Paris' })).toBe('Europe/Paris')
    expect(resolveTimeZone({ TZ: ':Asia/Tokyo' })).toBe('Asia/Tokyo')
    expect(resolveTimeZone({ TZ: 'not/a-zone' })).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone)
  })
})
