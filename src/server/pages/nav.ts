import { html, type SafeHtml } from './html.js'

export interface NavInput {
  email: string
  admin: boolean
  auditor: boolean
}

/** The bar on top of every signed-in page: where one can go, who is signed in, and the way out. */
export function renderNav(input: NavInput): SafeHtml {
  return html`<nav class="top"><strong>jitssh</strong><a href="/">Hosts</a>
${input.admin ? html`<a href="/admin">Sessions</a><a href="/admin/audit">Audit</a>` : ''}
${input.auditor ? html`<a href="/recordings">Recordings</a>` : ''}
<span class="who">${input.email}</span><a href="/logout">Sign out</a></nav>`
}
