import type { AuditEvent } from '../../shared/protocol.js'
import { html, page, type SafeHtml } from './html.js'
import { HOST_FILTER, renderFilterForm, SINCE_FILTER, UNTIL_FILTER, USER_FILTER } from './filter-form.js'
import { renderNav, type NavInput } from './nav.js'

export interface LiveConnection {
  kind: 'tunnel' | 'terminal'
  host: string
  since: string
  bytesUp: number
  bytesDown: number
}

export interface SessionLine {
  id: string
  user: string
  /** `command line` or `browser`. */
  kind: string
  createdAt: string
  expiresAt: string
  connections: LiveConnection[]
}

const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`)

/** Active sessions with their live tunnels and terminals (this replica's), each with a revoke button (CSRF). */
export function renderSessionsPage(input: { nav: NavInput; csrfToken: string; sessions: SessionLine[]; notice?: string }): string {
  return page(
    'Sessions',
    html`${renderNav(input.nav)}
<h1>Active sessions</h1>
${input.notice ? html`<p role="status"><strong>${input.notice}</strong></p>` : ''}
<p class="muted">Live tunnels and terminals are those of the server that answered this page. Revoking ends the session everywhere: refresh and signing stop, its tunnels and terminals close, and its certificates go on the KRL.</p>
${input.sessions.length === 0
    ? html`<p>No active sessions.</p>`
    : html`<table><thead><tr><th>User</th><th>Session</th><th>Since</th><th>Ends</th><th>Live connections</th><th></th></tr></thead><tbody>
${input.sessions.map((session) => sessionRow(session, input.csrfToken))}
</tbody></table>`}`,
    { wide: true },
  )
}

function sessionRow(session: SessionLine, csrfToken: string): SafeHtml {
  return html`<tr><td class="nw">${session.user}</td><td><code>${session.id}</code><br><span class="muted">${session.kind}</span></td><td>${session.createdAt}</td><td>${session.expiresAt}</td>
<td>${session.connections.length === 0
    ? html`<span class="muted">none</span>`
    : session.connections.map((c) => html`<div>${c.kind} <code>${c.host}</code> since ${c.since}, ${bytes(c.bytesUp)} up, ${bytes(c.bytesDown)} down</div>`)}</td>
<td><form method="post" action="/admin/revoke" class="inline"><input type="hidden" name="csrf_token" value="${csrfToken}"><input type="hidden" name="session_id" value="${session.id}"><button type="submit">Revoke</button></form></td></tr>`
}

export const AUDIT_FILTER_NAMES = ['user', 'host', 'type', 'since', 'until'] as const
export type AuditFilters = Record<(typeof AUDIT_FILTER_NAMES)[number], string>
const AUDIT_FILTERS = [USER_FILTER, HOST_FILTER, { name: 'type', label: 'Type', placeholder: 'terminal, cert.sign' }, SINCE_FILTER, UNTIL_FILTER]

/** The audit log, newest first, searchable; one page at a time (the next page by its cursor). */
export function renderAuditPage(input: { nav: NavInput; filters: AuditFilters; events: AuditEvent[]; next: string | null; error?: string }): string {
  return page(
    'Audit',
    html`${renderNav(input.nav)}
<h1>Audit log</h1>
${renderFilterForm('/admin/audit', AUDIT_FILTERS, input.filters)}
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
${input.events.length === 0
    ? html`<p class="muted">No events match.</p>`
    : html`<table><thead><tr><th>Time (UTC)</th><th>Type</th><th>Outcome</th><th>User</th><th>Host</th><th>Detail</th></tr></thead><tbody>
${input.events.map((event) => html`<tr><td class="nw">${event.time.replace('T', ' ').slice(0, 19)}</td><td class="nw">${event.type}</td><td>${event.outcome}</td><td class="nw">${event.user ?? '—'}</td><td class="nw">${event.host ?? '—'}</td><td class="wrap">${detailText(event.detail)}</td></tr>`)}
</tbody></table>`}
${input.next ? html`<p><a href="${input.next}">Older events</a></p>` : ''}`,
    { wide: true },
  )
}

/** `key: value · key: value`, objects as JSON, at most 400 characters. */
function detailText(detail: Record<string, unknown>): string {
  const text = Object.entries(detail)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' · ')
  return text.length > 400 ? `${text.slice(0, 399)}…` : text
}
