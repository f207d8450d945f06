import { describe, expect, it } from 'vitest'
import { proxyForUrl, proxySettingsFromEnv } from '../../src/client/tunnel/proxy.js'
import { checkEndpoint, normalizeServerUrl } from '../../src/client/auth/server-url.js'
import { isJitsshError } from '../../src/shared/errors.js'

describe('proxyForUrl', () => {
  const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy.corp:3128', HTTP_PROXY: 'http://plain.corp:8080', NO_PROXY: 'localhost,.internal.example.com,10.0.0.1:8443' })
  it('picks the proxy by scheme (wss like https, ws like http)', () => {
    expect(proxyForUrl(new URL('https://access.example.com'), settings)?.host).toBe('proxy.corp:3128')
    expect(proxyForUrl(new URL('wss://access.example.com/v1/tunnel'), settings)?.host).toBe('proxy.corp:3128')
    expect(proxyForUrl(new URL('ws://access.example.com/v1/tunnel'), settings)?.host).toBe('plain.corp:8080')
  })
  it('honours NO_PROXY names, subdomains and ports', () => {
    expect(proxyForUrl(new URL('https://localhost:8443'), settings)).toBeNull()
    expect(proxyForUrl(new URL('wss://a.internal.example.com'), settings)).toBeNull()
    expect(proxyForUrl(new URL('wss://internal.example.com'), settings)).toBeNull()
    expect(proxyForUrl(new URL('wss://xinternal.example.com'), settings)).not.toBeNull()
    expect(proxyForUrl(new URL('https://10.0.0.1:8443'), settings)).toBeNull()
    expect(proxyForUrl(new URL('https://10.0.0.1:443'), settings)).not.toBeNull()
  })
  it('NO_PROXY=* turns proxies off; no proxy variables means direct', () => {
    expect(proxyForUrl(new URL('https://a.example.com'), proxySettingsFromEnv({ HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' }))).toBeNull()
    expect(proxyForUrl(new URL('https://a.example.com'), proxySettingsFromEnv({}))).toBeNull()
  })
  it('HTTPS falls back to HTTP_PROXY; lower-case variables win', () => {
    expect(proxyForUrl(new URL('https://a.example.com'), proxySettingsFromEnv({ HTTP_PROXY: 'http://p:1' }))?.host).toBe('p:1')
    expect(proxyForUrl(new URL('https://a.example.com'), proxySettingsFromEnv({ https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:1' }))?.host).toBe('low:1')
  })
})

describe('normalizeServerUrl', () => {
  it('accepts https and loopback http, strips a trailing slash', () => {
    expect(normalizeServerUrl('https://Access.Example.com/')).toBe('https://access.example.com')
    expect(normalizeServerUrl('https://access.example.com:8443/jit/')).toBe('https://access.example.com:8443/jit')
    expect(normalizeServerUrl('http://127.0.0.1:4000')).toBe('http://127.0.0.1:4000')
    expect(normalizeServerUrl('http://localhost:4000')).toBe('http://localhost:4000')
  })
  it('refuses what could break a config line or leak credentials', () => {
    for (const bad of ['http://example.com', 'https://u:p@example.com', 'https://example.com/?q=1', 'https://example.com/#x', "https://example.com/'", 'https://example.com/%h', 'https://exa mple.com', 'file:///etc/passwd', 'nope']) {
      let error: unknown
      try {
        normalizeServerUrl(bad)
      } catch (e) {
        error = e
      }
      expect(isJitsshError(error, 'ERR_USAGE'), bad).toBe(true)
    }
  })
  it('endpoints from discovery must be https or loopback http', () => {
    expect(checkEndpoint('https://a.example.com', '/token', 'token_endpoint')).toBe('https://a.example.com/token')
    expect(() => checkEndpoint('https://a.example.com', 'http://evil.example.com/token', 'token_endpoint')).toThrow(/not https/)
    expect(() => checkEndpoint('https://a.example.com', undefined, 'token_endpoint')).toThrow(/no token_endpoint/)
  })
})
