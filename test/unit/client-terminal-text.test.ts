// Issue 18: text from the server never reaches a person's terminal raw. Names, codes and messages pass through
// one function (src/client/terminal-text.ts) that turns C0 and C1 controls, Unicode bidi overrides and
// isolates and other invisible formatting characters into something visible, on one line: an 8-bit CSI
// (U+009B) or a right-to-left override in a user name could rewrite or disguise what the CLI prints.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { firstLine, jsonText, terminalSafe } from '../../src/client/terminal-text.js'
import { runCli } from '../helpers/cli.js'
import { sendJson, useFakeJitssh, WHO_AM_I } from '../helpers/fake-jitssh.js'

/**
 * What may not reach a terminal: C0 but the newline (checked apart), DEL and C1, soft hyphen, Arabic letter
 * mark, Mongolian vowel separator, zero-width characters and direction marks, line and paragraph separators,
 * bidi embeddings, overrides and isolates, word joiner and invisible operators, BOM, tag characters, and lone
 * surrogates.
 */
const FORBIDDEN = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\u{e0000}-\u{e007f}]|\p{Cs}/u

/** Strings full of what an attacker would send: the forbidden characters, escapes, and any other text. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('\x1b', '\x9b', '\x07', '\r', '\n', '\t', '\x85', '\u2028', '\u2029', '\u202e', '\u2066', '\u2069', '\u200b', '\u200f', '\ufeff', '\u{e0041}', '\ud800', '\udfff', '\u00ad', '\u061c'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      fc.constantFrom('[2J', ']0;title', '31m', 'evil.example.com'),
    ),
    maxLength: 40,
  }),
)

describe('terminalSafe and firstLine (property)', () => {
  it('leave none of the forbidden characters, and one line', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        for (const out of [terminalSafe(text), firstLine(text)]) {
          expect(out).not.toMatch(FORBIDDEN)
          expect(out).not.toContain('\n')
        }
        expect(firstLine(text).length).toBeLessThanOrEqual(300)
      }),
      { seed: 18, numRuns: 3_000, interruptAfterTimeLimit: 4_000 },
    )
  })

  it('keep ordinary text as it is, and say where something was taken out', () => {
    expect(terminalSafe('alice@example.com (Älice Ünsworth, 日本)')).toBe('alice@example.com (Älice Ünsworth, 日本)')
    expect(terminalSafe('a\tb\nc')).toBe('a b c')
    expect(terminalSafe('x\x9b2Jy\u202ez')).toBe('x?2Jy?z')
    expect(firstLine('first\nsecond')).toBe('first')
    expect(firstLine(42)).toBe('')
  })

  it('jsonText escapes what JSON.stringify leaves raw, and stays the same JSON', () => {
    fc.assert(
      fc.property(fc.dictionary(hostile, hostile, { maxKeys: 4 }), (value) => {
        const text = jsonText(value)
        expect(text).not.toMatch(FORBIDDEN)
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)))
      }),
      { seed: 19, numRuns: 1_000, interruptAfterTimeLimit: 3_000 },
    )
  })
})

describe('the commands show server text only made safe', () => {
  const t = useFakeJitssh({ loggedIn: true })

  const NAME = '\x1b]0;pwned\x07al\x9b2Jice\u202Emoc.elpmaxe@\u2066'

  function expectSafe(text: string): void {
    expect(text).not.toMatch(FORBIDDEN)
  }

  it('status: the identity and groups', async () => {
    t.fake.routes.set('/v1/me', (_req, res) => sendJson(res, 200, { ...WHO_AM_I, email: NAME, groups: ['dev\u202e', '\x9b31mops'] }))
    const r = await runCli(['status'], { home: t.home })
    expect(r.stdout).toMatch(/^Logged in as: \?\]0;pwned\?al\?2Jice\?moc\.elpmaxe@\? \(groups: dev\?, \?31mops\)$/m)
    expectSafe(r.stdout)
    const json = await runCli(['status', '--json'], { home: t.home })
    expectSafe(json.stdout)
    expect(JSON.parse(json.stdout).identity.email).toBe(NAME)
  })

  it('ssh-gen: a refusal relayed from the server', async () => {
    t.fake.routes.set('/v1/ssh/sign', (_req, res) => sendJson(res, 403, { error: 'ERR_POLICY_DENIED', message: `no rule for ${NAME}\nsecond line` }))
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home: t.home })
    expect(r.code).toBe(1)
    expectSafe(r.stderr)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('audit and sessions tables, revoke and user output', async () => {
    const event = { seq: 1, time: '2026-01-01T00:00:00Z', type: 'login\u202e', outcome: 'ok', user: NAME, session_id: null, host: '\x9bhost', detail: { reason: NAME }, hash: 'h' }
    t.fake.routes.set('/v1/admin/audit', (_req, res) => sendJson(res, 200, { events: [event], next_cursor: null }))
    t.fake.routes.set('/v1/admin/sessions', (_req, res) => sendJson(res, 200, { sessions: [{ session_id: 's\u2066', user: NAME, created_at: '2026-01-01T00:00:00Z', expires_at: '2026-01-02T00:00:00Z', revoked_at: null, live_tunnels: 0 }] }))
    t.fake.routes.set('/v1/admin/revoke', (_req, res) => sendJson(res, 200, { user: NAME, revoked_sessions: ['s'], tunnels_closed: 0 }))
    t.fake.routes.set('/v1/admin/users/enable', (_req, res) => sendJson(res, 200, { user: NAME, revoked_sessions: [], tunnels_closed: 0, disabled: false, changed: true }))
    for (const argv of [['audit'], ['audit', '--json'], ['sessions'], ['sessions', '--json'], ['revoke', '--user', 'bob'], ['user', 'enable', 'bob']]) {
      const r = await runCli(argv, { home: t.home, env: { TZ: 'UTC' } })
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0)
      expectSafe(r.stdout)
      expectSafe(r.stderr)
    }
  })
})
