// The JITSSH_* environment (src/client/env.ts): what each variable accepts, and the default for anything else.
import { describe, expect, it } from 'vitest'
import { parseJitsshEnv } from '../../src/client/env.js'

describe('parseJitsshEnv', () => {
  it('has the documented defaults when nothing is set', () => {
    expect(parseJitsshEnv({})).toEqual({
      home: undefined,
      certMarginSeconds: 60,
      httpTimeoutMs: 15_000,
      keepaliveMs: 30_000,
      loginTimeoutMs: 300_000,
      credentialStore: undefined,
      debug: false,
      routeCheck: false,
      caFile: undefined,
      tunnelTransport: 'auto',
    })
  })

  it('reads every variable', () => {
    expect(parseJitsshEnv({
      JITSSH_HOME: '/srv/jitssh',
      JITSSH_CERT_MARGIN: '5',
      JITSSH_HTTP_TIMEOUT_MS: '2500',
      JITSSH_KEEPALIVE_MS: '100',
      JITSSH_LOGIN_TIMEOUT_MS: '1500',
      JITSSH_CREDENTIAL_STORE: 'keychain',
      JITSSH_DEBUG: '1',
      JITSSH_CA_FILE: '/etc/jitssh/ca.pem',
      JITSSH_ROUTE_CHECK: '1',
      JITSSH_TUNNEL: 'websocket',
    })).toEqual({
      home: '/srv/jitssh',
      certMarginSeconds: 5,
      httpTimeoutMs: 2500,
      keepaliveMs: 100,
      loginTimeoutMs: 1500,
      credentialStore: 'keychain',
      debug: true,
      routeCheck: true,
      caFile: '/etc/jitssh/ca.pem',
      tunnelTransport: 'websocket',
    })
  })

  it.each([['raw', 'raw'], ['websocket', 'websocket'], ['', 'auto'], ['WebSocket', 'auto'], ['tcp', 'auto']])('JITSSH_TUNNEL=%j → %s', (raw, transport) => {
    expect(parseJitsshEnv({ JITSSH_TUNNEL: raw }).tunnelTransport).toBe(transport)
  })

  it('an empty JITSSH_HOME means the default home', () => {
    expect(parseJitsshEnv({ JITSSH_HOME: '' }).home).toBeUndefined()
  })

  it.each([['0', 0], ['999999', 999_999], ['1000000', 60], ['-5', 60], ['5s', 60], ['1e3', 60], ['', 60]])(
    'JITSSH_CERT_MARGIN=%j → %d s (whole seconds, up to six digits; else 60)',
    (raw, seconds) => {
      expect(parseJitsshEnv({ JITSSH_CERT_MARGIN: raw }).certMarginSeconds).toBe(seconds)
    },
  )

  it.each<[string, number | undefined]>([['250', 250], ['1e3', 1000], ['0.5', 0.5], ['0', undefined], ['-1', undefined], ['', undefined], ['soon', undefined], ['Infinity', undefined]])(
    'JITSSH_HTTP_TIMEOUT_MS, _KEEPALIVE_MS, _LOGIN_TIMEOUT_MS=%j → %s (any positive number of ms; else the default)',
    (raw, ms) => {
      expect(parseJitsshEnv({ JITSSH_HTTP_TIMEOUT_MS: raw }).httpTimeoutMs).toBe(ms ?? 15_000)
      expect(parseJitsshEnv({ JITSSH_KEEPALIVE_MS: raw }).keepaliveMs).toBe(ms ?? 30_000)
      expect(parseJitsshEnv({ JITSSH_LOGIN_TIMEOUT_MS: raw }).loginTimeoutMs).toBe(ms ?? 300_000)
    },
  )

  it.each([
    ['file', 'file'],
    ['keychain', 'keychain'],
    ['FILE', undefined],
    ['none', undefined],
    ['', undefined],
  ])('JITSSH_CREDENTIAL_STORE=%j → %j', (raw, store) => {
    expect(parseJitsshEnv({ JITSSH_CREDENTIAL_STORE: raw }).credentialStore).toBe(store)
  })

  it.each([
    ['1', true],
    ['yes', true],
    ['true', true],
    ['0', false],
    ['false', false],
    ['', false],
  ])('JITSSH_DEBUG=%j → %s', (raw, debug) => {
    expect(parseJitsshEnv({ JITSSH_DEBUG: raw }).debug).toBe(debug)
  })
})
