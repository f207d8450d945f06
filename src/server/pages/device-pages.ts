import { html, page } from './html.js'

export function renderDeviceEntryPage(input: { csrfToken: string; userCode: string; signedInAs: string; error?: string }): string {
  return page(
    'Connect a device',
    html`<h1>Connect a device</h1>
<p>Signed in as ${input.signedInAs}. Enter the code shown by <code>jitssh login</code>.</p>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/device">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" class="code" autocomplete="off" autocapitalize="characters" required value="${input.userCode}" placeholder="XXXX-XXXX">
<button type="submit">Continue</button>
</form>`,
  )
}

export interface DeviceRequestDetails {
  csrfToken: string
  userCode: string
  signedInAs: string
  clientId: string
  requestedAt: string
  requesterIp: string
  requesterUserAgent: string
}

/** Shows which device asks, so a person can spot a code someone else sent them. */
export function renderDeviceConfirmPage(input: DeviceRequestDetails): string {
  return page(
    'Approve device',
    html`<h1>Approve this device?</h1>
<p>A device asks to sign in to jitssh as <strong>${input.signedInAs}</strong>. Approve only if you started
<code>jitssh login</code> yourself just now and the code matches.</p>
<dl>
<dt>Code</dt><dd class="code">${input.userCode}</dd>
<dt>Client</dt><dd>${input.clientId}</dd>
<dt>Requested at</dt><dd>${input.requestedAt}</dd>
<dt>From IP</dt><dd>${input.requesterIp}</dd>
<dt>User agent</dt><dd>${input.requesterUserAgent}</dd>
</dl>
<form method="post" action="/device">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
<input type="hidden" name="user_code" value="${input.userCode}">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>`,
  )
}

export function renderDeviceResultPage(approved: boolean): string {
  return approved
    ? page('Device approved', html`<h1>Device approved</h1><p>You can close this window and return to your terminal.</p>`)
    : page('Device denied', html`<h1>Device denied</h1><p>The device was not signed in. You can close this window.</p>`)
}
