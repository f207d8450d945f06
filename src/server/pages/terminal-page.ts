import { html, livePage } from './html.js'

export interface TerminalPageInput {
  host: string
  login: string
  email: string
  /** `wss://access.example.com/terminal/ws` */
  wsUrl: string
  /** The one-time ticket this page's WebSocket presents. */
  ticket: string
  /** For the reconnect form (a new ticket). */
  csrfToken: string
  assets: { script: string; stylesheet: string; nonce: string }
}

/** The browser terminal: the page's script (src/web/terminal.ts) opens the WebSocket with the ticket. */
export function renderTerminalPage(input: TerminalPageInput): string {
  return livePage(
    `${input.login}@${input.host}`,
    html`<header class="bar"><a class="brand" href="/">jitssh</a><span class="where">${input.login}@${input.host}</span>
<form id="reconnect" method="post" action="/terminal" hidden><input type="hidden" name="csrf_token" value="${input.csrfToken}">
<input type="hidden" name="host" value="${input.host}"><input type="hidden" name="login" value="${input.login}"><button type="submit">Reconnect</button></form>
<nav><a href="/">Hosts</a><span>${input.email}</span><a href="/logout">Sign out</a></nav></header>
<p id="status" role="status" aria-live="polite"></p>
<main class="screen"><div id="terminal" data-ws-url="${input.wsUrl}" data-ticket="${input.ticket}" data-host="${input.host}" data-login="${input.login}"></div></main>`,
    input.assets,
  )
}
