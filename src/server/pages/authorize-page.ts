import { html, page } from './html.js'

export interface AuthorizeConfirmInput {
  csrfToken: string
  /** The authorization request's parameters, sent back with the answer. */
  params: Record<string, string>
  signedInAs: string
  /** `127.0.0.1:53111`: where the code would go. */
  redirect: string
  sessionHours: number
}

/** Asks a signed-in person to confirm a CLI sign-in they did not just type their password for. */
export function renderAuthorizeConfirmPage(input: AuthorizeConfirmInput): string {
  return page(
    'Confirm sign-in',
    html`<h1>Sign in to jitssh on this computer?</h1>
<p>A program on this computer (the <code>jitssh</code> command line, waiting at <code>${input.redirect}</code>) asks for a
jitssh session as <strong>${input.signedInAs}</strong>. With it, it can get SSH certificates for the hosts you may
reach, for up to ${input.sessionHours} hours.</p>
<p>Allow only if you just ran <code>jitssh login</code> yourself.</p>
<form method="post" action="/authorize">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
${Object.entries(input.params).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>`,
  )
}

/** The sign-out form, and its result. */
export function renderLogoutPage(input: { csrfToken: string; signedInAs: string | null; done?: boolean }): string {
  if (input.done || input.signedInAs === null) {
    return page('Signed out', html`<h1>Signed out</h1><p>You are signed out of jitssh in this browser. Sessions of the command line are not affected: end them with <code>jitssh logout</code>.</p>`)
  }
  return page(
    'Sign out',
    html`<h1>Sign out of jitssh?</h1>
<p>Signed in as <strong>${input.signedInAs}</strong> in this browser.</p>
<form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
<button type="submit">Sign out</button>
</form>`,
  )
}
