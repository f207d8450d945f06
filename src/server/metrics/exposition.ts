// The Prometheus text exposition format, version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
// Pure: metric families in, text out.

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export type MetricType = 'counter' | 'gauge'

export interface Sample {
  labels: Readonly<Record<string, string>>
  value: number
}

export interface MetricFamily {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`. */
  name: string
  help: string
  type: MetricType
  samples: readonly Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** HELP text: backslash and line feed escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/** A label value: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** A sample value as Go's ParseFloat reads it: integers plainly, `+Inf`, `-Inf`, `NaN`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

function sampleLine(name: string, sample: Sample): string {
  const labels = Object.entries(sample.labels)
  for (const [label] of labels) {
    if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(label)} on ${name}`)
  }
  const labelText = labels.length === 0 ? '' : `{${labels.map(([label, value]) => `${label}="${escapeLabelValue(value)}"`).join(',')}}`
  return `${name}${labelText} ${formatValue(sample.value)}`
}

/** `# HELP`, `# TYPE` and the samples of each family, in order; the text ends with a line feed. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>()
  const lines: string[] = []
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`invalid metric name ${JSON.stringify(family.name)}`)
    if (seen.has(family.name)) throw new Error(`metric ${family.name} is listed twice`)
    seen.add(family.name)
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`)
    for (const sample of family.samples) lines.push(sampleLine(family.name, sample))
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}
