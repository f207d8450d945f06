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
