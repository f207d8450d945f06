// The Prometheus text format writer (src/server/metrics/exposition.ts): HELP and TYPE lines, escaping of
// help text and label values, special values, and refusal of names the format cannot carry. Read back
// with a strict line-by-line parser of the format (test/helpers/prometheus.ts).
import { describe, expect, it } from 'vitest'
import { escapeLabelValue, renderExposition } from '../../src/server/metrics/exposition.js'
import { parseExposition } from '../helpers/prometheus.js'

describe('renderExposition', () => {
  it('writes HELP, TYPE and samples that read back exactly, hostile label values and help included', () => {
    const hostile = 'a"b\\c\nd} 1\n# TYPE x counter'
    const text = renderExposition([
      { name: 'jitssh_things_total', help: 'Things.\nWith a \\ backslash', type: 'counter', samples: [{ labels: { kind: hostile }, value: 3 }, { labels: { kind: 'plain' }, value: 0 }] },
      { name: 'jitssh_level', help: 'A level.', type: 'gauge', samples: [{ labels: {}, value: 1.5 }, { labels: { x: 'inf' }, value: Infinity }, { labels: { x: 'nan' }, value: NaN }] },
    ])
    expect(text.split('\n').slice(0, 3)).toEqual([
      '# HELP jitssh_things_total Things.\\nWith a \\\\ backslash',
      '# TYPE jitssh_things_total counter',
      'jitssh_things_total{kind="a\\"b\\\\c\\nd} 1\\n# TYPE x counter"} 3',
    ])
    expect(text.endsWith('\n')).toBe(true)
    const parsed = parseExposition(text)
    expect([...parsed.keys()]).toEqual(['jitssh_things_total', 'jitssh_level'])
    expect(parsed.get('jitssh_things_total')).toEqual({
      name: 'jitssh_things_total', help: 'Things.\nWith a \\ backslash', type: 'counter',
      samples: [{ labels: { kind: hostile }, value: 3 }, { labels: { kind: 'plain' }, value: 0 }],
    })
    expect(text).toContain('jitssh_level{x="inf"} +Inf\n')
    expect(text).toContain('jitssh_level{x="nan"} NaN\n')
  })

  it('escapes exactly backslash, double quote and line feed in label values', () => {
    expect(escapeLabelValue('plain value: 1/2 {x}')).toBe('plain value: 1/2 {x}')
    expect(escapeLabelValue('\\"\n')).toBe('\\\\\\"\\n')
  })

  it('refuses invalid metric and label names and a family listed twice', () => {
    const family = (name: string, labels: Record<string, string> = {}) => ({ name, help: 'h', type: 'gauge' as const, samples: [{ labels, value: 1 }] })
    expect(() => renderExposition([family('bad-name')])).toThrow(/invalid metric name/)
    expect(() => renderExposition([family('ok', { 'bad-label': 'x' })])).toThrow(/invalid label name/)
    expect(() => renderExposition([family('ok', { __reserved: 'x' })])).toThrow(/invalid label name/)
    expect(() => renderExposition([family('ok'), family('ok')])).toThrow(/listed twice/)
    expect(renderExposition([])).toBe('')
  })
})
