// What an admin sees for a broken config.yaml: the file, the line and the column of a YAML error.
import { describe, expect, it } from 'vitest'
import { parseConfigText } from '../../src/server/config/load-config.js'

describe('YAML errors in the config', () => {
  it('name the line and column', () => {
    expect(() => parseConfigText('listen: 127.0.0.1:8443\npolicy:\n  - name: [unclosed\n', 'config.yaml')).toThrow(/^config\.yaml:4:1: not valid YAML: Flow sequence/)
    expect(() => parseConfigText('listen: a\nlisten: b\n', 'config.yaml')).toThrow(/^config\.yaml:2:1: not valid YAML: Map keys must be unique/)
    expect(() => parseConfigText('a:\n\tb: 1\n', 'config.yaml')).toThrow(/^config\.yaml:2:1: not valid YAML: .*[Tt]ab/)
  })
})

describe('identity in the config', () => {
  const oidc = (issuer: string, extra = '') => `identity:\n  oidc: {issuer: "${issuer}", client_id: jitssh${extra}}\n`
  const error = (text: string): string => {
    try {
      parseConfigText(text, 'config.yaml')
    } catch (caught) {
      return (caught as Error).message
    }
    return 'accepted'
  }

  it('takes an http issuer only on loopback and only with allow_insecure_issuer, saying how', () => {
    expect(error(oidc('http://idp.example.com'))).toBe('config.yaml: identity.oidc.issuer: expected an https:// URL (http:// only for a provider on a loopback address, with allow_insecure_issuer: true)')
    expect(error(oidc('http://idp.example.com', ', allow_insecure_issuer: true'))).toMatch(/http:\/\/ only for a provider on a loopback address/)
    expect(error(oidc('http://127.0.0.1:9000'))).toBe('config.yaml: identity.oidc.issuer: is http://: for a trial with a provider on this machine, set identity.oidc.allow_insecure_issuer: true')
    expect(error(oidc('http://127.0.0.1:9000', ', allow_insecure_issuer: true'))).toBe('accepted')
    expect(error(oidc('https://idp.example.com'))).toBe('accepted')
    expect(error(oidc('ftp://idp.example.com'))).toBe('config.yaml: identity.oidc.issuer: expected an https:// URL')
  })

  it('takes local users beside a provider, and refuses neither', () => {
    const both = parseConfigText(`${oidc('https://idp.example.com')}  local:\n    users:\n      - {username: root, email: root@example.com, password_hash: "scrypt$1024$8$1$AQEBAQEBAQEBAQEBAQEBAQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}\n`, 'config.yaml')
    expect(both.identity.oidc?.issuer).toBe('https://idp.example.com')
    expect(both.identity.local?.users.map((user) => user.username)).toEqual(['root'])
    expect(error('identity: {}\n')).toBe('config.yaml: identity: configure "local" users, an "oidc" provider, or both')
  })
})
