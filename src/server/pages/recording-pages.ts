import type { RecordingInfo } from '../../shared/protocol.js'
import { html, livePage, page } from './html.js'
import { HOST_FILTER, renderFilterForm, SINCE_FILTER, UNTIL_FILTER, USER_FILTER } from './filter-form.js'
import { renderNav, type NavInput } from './nav.js'

export const RECORDING_FILTER_NAMES = ['user', 'host', 'since', 'until'] as const
export type RecordingFilters = Record<(typeof RECORDING_FILTER_NAMES)[number], string>

const minutes = (ms: number | null): string => (ms === null ? '—' : ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`)
const shortTime = (iso: string): string => `${iso.replace('T', ' ').slice(0, 19)} UTC`

/** Recordings of browser terminals (admins and auditors), newest first, with filters; each links to its player. */
export function renderRecordingListPage(input: { nav: NavInput; filters: RecordingFilters; recordings: RecordingInfo[]; error?: string }): string {
  return page(
    'Recordings',
    html`${renderNav(input.nav)}
<h1>Terminal recordings</h1>
${renderFilterForm('/recordings', [USER_FILTER, HOST_FILTER, SINCE_FILTER, UNTIL_FILTER], input.filters)}
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
${input.recordings.length === 0
    ? html`<p class="muted">No recordings match.</p>`
    : html`<table><thead><tr><th>Started</th><th>User</th><th>Host</th><th>Login</th><th>Length</th><th>Size</th><th></th></tr></thead><tbody>
${input.recordings.map((recording) => html`<tr><td>${shortTime(recording.started_at)}</td><td>${recording.user}</td><td><code>${recording.host}</code></td><td>${recording.login}</td>
<td class="num">${recording.ended_at === null ? 'running or cut off' : minutes(recording.duration_ms)}</td><td class="num">${recording.size === null ? '—' : `${recording.size} B`}</td>
<td><a href="/recordings/${recording.id}">Play</a></td></tr>`)}
</tbody></table>`}`,
    { wide: true },
  )
}

/** The player (src/web/player.ts): play/pause, seek, speed; the recording's facts above it. */
export function renderPlayerPage(input: { recording: RecordingInfo; email: string; assets: { script: string; stylesheet: string; nonce: string } }): string {
  const { recording } = input
  return livePage(
    `Recording ${recording.login}@${recording.host}`,
    html`<header class="bar"><a class="brand" href="/">jitssh</a><span class="where">${recording.login}@${recording.host} · ${recording.user} · ${shortTime(recording.started_at)}</span>
<nav><a href="/recordings">Recordings</a><span>${input.email}</span><a href="/logout">Sign out</a></nav></header>
<div class="controls"><button id="play" type="button" aria-pressed="false">Play</button>
<input id="seek" type="range" min="0" max="0" value="0" step="1" aria-label="Position">
<span id="clock">0:00 / 0:00</span>
<label for="speed">Speed</label><select id="speed"><option value="0.5">0.5×</option><option value="1" selected>1×</option><option value="2">2×</option><option value="4">4×</option><option value="8">8×</option></select></div>
<p id="status" role="status" aria-live="polite"></p>
<p class="meta">SHA-256 <code>${recording.sha256 ?? 'not recorded (the terminal did not end cleanly)'}</code> · ${recording.size ?? '?'} bytes · keystrokes ${recording.record_input ? 'recorded' : 'not recorded'}</p>
<main class="screen"><div id="player" data-cast="/recordings/${recording.id}/cast"></div></main>`,
    input.assets,
  )
}
