// The DETAIL column of `jitssh audit`: the few fields of an event's detail that say what happened, as
// key=value, in a fixed order per event type (everything is in --json).
import type { AuditEvent } from '../shared/protocol.js'

const FIELDS: Array<[RegExp, string[]]> = [
  [/^tunnel\.open$/, ['target', 'ip']],
  [/^tunnel\.close$/, ['duration_ms', 'bytes_up', 'bytes_down', 'reason']],
  [/^cert\.sign$/, ['principals', 'serial', 'rule']],
  [/^access\.denied$/, ['action', 'reason']],
  [/^session\.revoke$/, ['reason', 'by', 'admin_reason']],
  [/^admin\./, ['target_user', 'target_session', 'revoked_sessions', 'tunnels_closed', 'reason']],
  [/^(login|logout)$/, ['method', 'reason', 'ip']],
  [/^token\./, ['grant', 'reason', 'ip']],
  [/^device\./, ['decision', 'reason']],
]

const MAX_LENGTH = 120

function formatValue(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (key === 'duration_ms' && typeof value === 'number') return `${(value / 1000).toFixed(1)}s`
  if (key === 'revoked_sessions' && Array.isArray(value)) return String(value.length)
  if (Array.isArray(value)) return value.map(String).join(',')
  if (typeof value === 'object') return undefined
  const text = String(value)
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text
}

export function summarizeDetail(event: Pick<AuditEvent, 'type' | 'detail'>): string {
  const keys = FIELDS.find(([pattern]) => pattern.test(event.type))?.[1] ?? Object.keys(event.detail).slice(0, 4)
  const parts: string[] = []
  for (const key of keys) {
    const value = formatValue(key, event.detail[key])
    if (value !== undefined) parts.push(`${key === 'duration_ms' ? 'duration' : key === 'revoked_sessions' ? 'sessions' : key}=${value}`)
  }
  const text = parts.join(' ')
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 1)}…` : text
}
