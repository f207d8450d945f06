import { html, page } from './html.js'

export interface LoginPageInput {
  csrfToken: string
  returnTo: string
  username?: string
  error?: string
  /** An identity provider beside the local accounts: a link that starts its sign-in. */
  sso?: { path: string; provider: string }
}

/** The local-user sign-in form (names are fixed: the CLI's stub browser and the Chromium tests use them). */
export function renderLoginPage(input: LoginPageInput): string {
  return page(
    'Sign in',
    html`<h1>Sign in to jitssh</h1>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
${input.sso ? html`<p><a class="sso" href="${input.sso.path}?return_to=${encodeURIComponent(input.returnTo)}">Sign in with ${input.sso.provider}</a></p>
<p class="muted">Or with a local account of this server:</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
<input type="hidden" name="return_to" value="${input.returnTo}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none" required value="${input.username ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  )
}

/** A plain message page (errors, results). */
export function renderMessagePage(title: string, message: string, options: { error?: boolean } = {}): string {
  return page(title, html`<h1>${title}</h1><p${options.error ? html` class="error"` : ''}>${message}</p>`)
}
