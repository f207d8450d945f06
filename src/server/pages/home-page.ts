import { html, page, type SafeHtml } from './html.js'
import { renderNav, type NavInput } from './nav.js'

export interface ReachableHost {
  host: string
  /** Unix accounts the policy grants there; the first is the default. */
  logins: string[]
}

export interface CliSessionLine {
  id: string
  createdAt: string
  expiresAt: string
  tunnels: number
}

export interface HomePageInput {
  nav: NavInput
  csrfToken: string
  hosts: ReachableHost[]
  cliSessions: CliSessionLine[]
  publicUrl: string
}

/** After sign-in: the hosts this person may reach (a terminal button each), and their command-line sessions. */
export function renderHomePage(input: HomePageInput): string {
  return page(
    'Your hosts',
    html`${renderNav(input.nav)}
<h1>Your hosts</h1>
${input.hosts.length === 0
    ? html`<p>No host is open to you. Ask an administrator of this server for access.</p>`
    : html`<table><thead><tr><th>Host</th><th>Logins</th><th>Terminal</th></tr></thead><tbody>
${input.hosts.map((host) => hostRow(host, input.csrfToken))}
</tbody></table>`}
<h2>Command-line sessions</h2>
${input.cliSessions.length === 0
    ? html`<p class="muted">No active <code>jitssh login</code> session.</p>`
    : html`<table><thead><tr><th>Session</th><th>Signed in</th><th>Ends</th><th>Live tunnels</th></tr></thead><tbody>
${input.cliSessions.map((session) => html`<tr><td><code>${session.id}</code></td><td>${session.createdAt}</td><td>${session.expiresAt}</td><td class="num">${session.tunnels}</td></tr>`)}
</tbody></table>`}
${installHelp(input.publicUrl)}`,
    { wide: true },
  )
}

/** Before sign-in: what this is, how to get the command line, and the way in. */
export function renderWelcomePage(input: { publicUrl: string }): string {
  return page(
    'jitssh',
    html`<h1>jitssh</h1>
<p>Just-in-time SSH access: sign in once, and every <code>ssh</code> gets a fresh certificate for minutes, through a bastion that checks and records each session.</p>
<p><a href="/login?return_to=%2F">Sign in</a> to see your hosts and open a terminal in the browser.</p>
${installHelp(input.publicUrl)}`,
  )
}

function hostRow(host: ReachableHost, csrfToken: string): SafeHtml {
  const id = `login-${host.host.replace(/[^a-z0-9]+/g, '-')}`
  return html`<tr><td><code>${host.host}</code></td><td>${host.logins.join(', ')}</td><td>
<form method="post" action="/terminal" class="inline"><input type="hidden" name="csrf_token" value="${csrfToken}"><input type="hidden" name="host" value="${host.host}">
${host.logins.length > 1
    ? html`<label class="muted" for="${id}">as</label> <select id="${id}" name="login">${host.logins.map((login) => html`<option>${login}</option>`)}</select>`
    : html`<input type="hidden" name="login" value="${host.logins[0]}">`}
<button type="submit">Terminal</button></form></td></tr>`
}

function installHelp(publicUrl: string): SafeHtml {
  return html`<h2>From your own terminal</h2>
<p>Install the command line (Node.js 20.18 or later), then sign in to this server:</p>
<pre><code>npm install --global jitssh
jitssh login --server ${publicUrl}</code></pre>
<p>Then, for each host: <code>jitssh ssh-config --hostname HOST --short-lived-cert --write</code>, and plain <code>ssh HOST</code> works.</p>`
}
