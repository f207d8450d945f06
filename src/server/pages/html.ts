import { createHash } from 'node:crypto'

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/** A template tag: every interpolated value is escaped unless it is already `SafeHtml`. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? ''
  values.forEach((value, index) => {
    const rendered = Array.isArray(value)
      ? value.map((item) => (item instanceof SafeHtml ? item.value : escapeHtml(item))).join('')
      : value instanceof SafeHtml
        ? value.value
        : escapeHtml(value)
    out += rendered + (strings[index + 1] ?? '')
  })
  return new SafeHtml(out)
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem;margin-right:.5rem}.error{color:#a00}.code{font-family:monospace;font-size:1.3rem;letter-spacing:.1rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
body.wide{max-width:72rem}nav.top{display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:baseline;border-bottom:1px solid #ddd;padding-bottom:.5rem}
nav.top .who{margin-left:auto;color:#555;overflow-wrap:anywhere}table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e3e3;vertical-align:top;overflow-wrap:break-word}th{background:#f4f4f4}
td.num{text-align:right;white-space:nowrap}.nw{white-space:nowrap}td.wrap{overflow-wrap:anywhere;min-width:16rem}td form{margin:0}td button,form.inline button{margin:0;padding:.25rem .8rem;font-size:.95rem;white-space:nowrap}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.9rem}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}form.filters label{margin:0}form.filters input{width:12rem}
form.filters button{margin:0}pre{background:#f4f4f4;padding:.6rem .8rem;overflow-x:auto}.muted{color:#666}code{overflow-wrap:anywhere}
select{padding:.3rem;font-size:1rem;max-width:100%}
textarea{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box;min-height:4rem}.state{font-weight:600}.warn{color:#a60;font-weight:600}td.nowrap{white-space:nowrap;overflow-wrap:normal}`

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64')

const BASE_CSP = ["default-src 'none'", `style-src 'sha256-${STYLE_HASH}'`, "frame-ancestors 'none'", "base-uri 'none'"]

/** The CSP of every page: no scripts at all, only our inline style (by hash); forms post to us only. */
export const PAGE_CSP = [...BASE_CSP, "form-action 'self'"].join('; ')

/**
 * The login page's CSP has no form-action: Chromium applies form-action to every redirect after the POST
 * (login → /authorize → the CLI's loopback redirect), and CSP source lists cannot express
 * `http://[::1]:*`, so the IPv6 loopback redirect would be blocked. Scripts stay forbidden.
 */
export const LOGIN_PAGE_CSP = BASE_CSP.join('; ')

/** A server-rendered page; `wide` for pages with tables (admin, recordings). */
export function page(title: string, body: SafeHtml, options: { wide?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title} · jitssh</title><style>${new SafeHtml(STYLE)}</style></head>
<body${options.wide ? html` class="wide"` : ''}>${body}</body></html>`.value
}

/**
 * The CSP of a live page (terminal, player): scripts from our origin only (the bundles under /assets), no
 * inline script at all; styles from our origin and, for the <style> elements xterm.js creates, this
 * response's nonce; connections only to `connect` (the terminal: our own ws(s) origin; the player: ours).
 */
export function livePageCsp(nonce: string, connect: string): string {
  return [
    "default-src 'none'", "script-src 'self'", `style-src 'self' 'nonce-${nonce}'`, `connect-src ${connect}`, "img-src 'self' data:",
    "font-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
  ].join('; ')
}

/** A page whose body a bundle of src/web brings to life (see pages/assets.ts); its CSP is livePageCsp(nonce, ...). */
export function livePage(title: string, body: SafeHtml, assets: { script: string; stylesheet: string; nonce: string }): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><meta property="csp-nonce" nonce="${assets.nonce}"><title>${title} · jitssh</title>
<link rel="stylesheet" href="${assets.stylesheet}"><script type="module" src="${assets.script}"></script></head>
<body class="live">${body}</body></html>`.value
}
