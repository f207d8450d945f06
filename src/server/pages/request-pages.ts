import { formatDuration } from '../../shared/duration.js'
import type { AccessRequestRow, AccessReviewRow } from '../store/store.js'
import { effectiveState } from '../requests/access-requests.js'
import { html, page, type SafeHtml } from './html.js'

const when = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))
const access = (row: AccessRequestRow): string => `${row.login}@${row.host} for ${formatDuration(row.durationMs)}`

function stateOf(row: AccessRequestRow, now: number): SafeHtml {
  return html`<span class="state">${effectiveState(row, now)}</span>${row.breakGlass ? html` <span class="warn">break-glass</span>` : ''}`
}

function requestTable(rows: AccessRequestRow[], empty: string, now: number): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`
  return html`<table><thead><tr><th>Request</th><th>State</th><th>Requester</th><th>Access</th><th>Reason</th><th>Created</th></tr></thead><tbody>
${rows.map((row) => html`<tr><td class="nowrap"><a href="/requests/${row.id}">${row.id}</a></td><td class="nowrap">${stateOf(row, now)}</td><td>${row.requester.email}</td><td>${access(row)}</td><td>${row.reason ?? ''}</td><td>${when(row.createdAt)}</td></tr>`)}
</tbody></table>`
}

/** `/requests`: what waits for the person's review, and their own requests. */
export function renderRequestListPage(input: { signedInAs: string; toReview: AccessRequestRow[]; mine: AccessRequestRow[]; now: number }): string {
  return page(
    'Access requests',
    html`<h1>Access requests</h1>
<p>Signed in as <strong>${input.signedInAs}</strong>. Ask for access with <code>jitssh request create --host HOST --duration 1h --reason "..."</code>.</p>
<h2>Waiting for your review</h2>
${requestTable(input.toReview, 'Nothing is waiting for your review.', input.now)}
<h2>Your requests</h2>
${requestTable(input.mine, 'You have not asked for access yet.', input.now)}`,
    { wide: true },
  )
}

export interface RequestPageInput {
  csrfToken: string
  signedInAs: string
  request: AccessRequestRow
  reviews: AccessReviewRow[]
  /** The requester's other recent requests (for a reviewer). */
  history: AccessRequestRow[]
  canReview: boolean
  canRevoke: boolean
  canCancel: boolean
  /** Why the viewer cannot review (their own request, reviewed already, no longer pending). */
  reviewNote: string | null
  message?: { text: string; error: boolean }
  now: number
}

/** `/requests/:id`: the request in full, and the review (or cancel, or revoke) form the viewer may use. */
export function renderRequestPage(input: RequestPageInput): string {
  const { request } = input
  const approvals = input.reviews.filter((review) => review.decision === 'approve').length
  const form = (action: string, body: SafeHtml): SafeHtml => html`<form method="post" action="/requests/${request.id}">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">${body}<input type="hidden" name="form" value="${action}"></form>`
  return page(
    `Request ${request.id}`,
    html`<h1>Access request ${request.id}</h1>
${input.message ? html`<p class="${input.message.error ? 'error' : 'state'}" role="${input.message.error ? 'alert' : 'status'}">${input.message.text}</p>` : ''}
<dl>
<dt>State</dt><dd>${stateOf(request, input.now)}</dd>
<dt>Requester</dt><dd>${request.requester.email}${request.requester.name ? ` (${request.requester.name})` : ''}</dd>
<dt>Host</dt><dd><code>${request.host}</code></dd>
<dt>Login</dt><dd><code>${request.login}</code></dd>
<dt>Duration</dt><dd>${formatDuration(request.durationMs)}, from approval</dd>
<dt>Reason</dt><dd>${request.reason ?? '(none given)'}</dd>
<dt>Rule</dt><dd>${request.rule}</dd>
<dt>Approvals</dt><dd>${approvals} of ${request.approvalsRequired}</dd>
<dt>Created</dt><dd>${when(request.createdAt)}${request.clientIp ? ` from ${request.clientIp}` : ''}</dd>
${request.state === 'pending' ? html`<dt>Decide by</dt><dd>${when(request.pendingUntil)}</dd>` : ''}
${request.approvedAt !== null ? html`<dt>Approved</dt><dd>${when(request.approvedAt)}</dd><dt>Use by</dt><dd>${when(request.claimBy)}</dd><dt>Ends</dt><dd>${when(request.endsAt)}</dd>` : ''}
${request.closedAt !== null ? html`<dt>Closed</dt><dd>${when(request.closedAt)} by ${request.closedBy ?? '-'}${request.closedReason ? `: ${request.closedReason}` : ''}</dd>` : ''}
</dl>
${input.reviews.length > 0 ? html`<h2>Reviews</h2><table><tbody>${input.reviews.map((review) => html`<tr><td>${review.decision === 'approve' ? 'approved' : 'denied'}</td><td>${review.reviewerEmail}</td><td>${when(review.at)}</td><td>${review.reason ?? ''}</td></tr>`)}</tbody></table>` : ''}
${input.canReview ? html`<h2>Your review</h2>
${form('review', html`<label for="reason">Reason (required to deny)</label>
<textarea id="reason" name="reason" maxlength="1000"></textarea>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>`)}` : input.reviewNote ? html`<p class="muted">${input.reviewNote}</p>` : ''}
${input.canCancel ? form('cancel', html`<button type="submit">Cancel this request</button>`) : ''}
${input.canRevoke ? html`<h2>End this access now</h2>${form('revoke', html`<label for="revoke_reason">Reason</label>
<textarea id="revoke_reason" name="reason" maxlength="1000" required></textarea>
<button type="submit">Revoke</button>`)}` : ''}
${input.history.length > 0 ? html`<h2>Recent requests of ${request.requester.email}</h2>${requestTable(input.history, '', input.now)}` : ''}
<p><a href="/requests">All requests</a></p>`,
    { wide: true },
  )
}
