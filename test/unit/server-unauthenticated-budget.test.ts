// The budget of audit rows unauthenticated callers may cause (rows about nobody known use only the upper
// half; it refills with time) and the sampled log (one line per key per interval, carrying the count).
import { describe, expect, it } from 'vitest'
import { AuditBudget } from '../../src/server/audit/audit-budget.js'
import { SampledLog } from '../../src/server/logging/sampled-log.js'

describe('AuditBudget', () => {
  it('keeps half for rows about real accounts, and refills at the rate per minute', () => {
    let now = 0
    const budget = new AuditBudget(10, () => now)
    const take = (subject: 'account' | 'unknown', times: number): number => Array.from({ length: times }, () => budget.take(subject)).filter(Boolean).length
    expect(take('unknown', 100)).toBe(5)
    expect(take('account', 100)).toBe(5)
    now += 30_000 // half a minute: 5 rows back, all above the reserve only once the reserve is full again
    expect(take('unknown', 100)).toBe(0)
    expect(take('account', 100)).toBe(5)
    now += 120_000 // the bucket never holds more than a minute's worth
    expect(take('unknown', 100)).toBe(5)
  })
})

describe('SampledLog', () => {
  it('writes the first occurrence at once, then one line per interval with the count since the last', () => {
    let now = 1_000_000
    const lines: Array<Record<string, unknown>> = []
    const log = new SampledLog((fields, message) => lines.push({ ...fields, message }), 60_000, () => now)
    for (let i = 0; i < 1000; i++) log.note('sign', 'refused', { ip: `10.0.0.${i % 7}` })
    log.note('tunnel', 'refused', { ip: '10.0.0.9' })
    expect(lines).toEqual([
      { ip: '10.0.0.0', count: 1, since: new Date(1_000_000).toISOString(), message: 'refused' },
      { ip: '10.0.0.9', count: 1, since: new Date(1_000_000).toISOString(), message: 'refused' },
    ])
    now += 60_000
    log.note('sign', 'refused', { ip: '10.0.0.1' })
    expect(lines.at(-1)).toEqual({ ip: '10.0.0.1', count: 1000, since: new Date(1_000_000).toISOString(), message: 'refused' })
    log.flush()
    expect(lines).toHaveLength(3)
  })
})
