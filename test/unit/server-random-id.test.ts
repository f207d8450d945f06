// Ids people type or paste into the CLI (sessions, recordings) never start with '-': `jitssh recordings export
// -x1…` was taken for an unknown option, 1 time in 64.
import { describe, expect, it } from 'vitest'
import { randomId } from '../../src/server/oauth/secrets.js'

describe('randomId', () => {
  it('is base64url of the given size and never starts with a dash', () => {
    const ids = Array.from({ length: 5_000 }, () => randomId(12))
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/)
    // 5,000 draws: a first-character dash would have come ~78 times.
    expect(new Set(ids.map((id) => id[0])).size).toBeGreaterThan(40)
  })
})
