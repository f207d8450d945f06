// The person's own API answers (`/v1/policy/explain`, `/v1/hosts`, `/v1/requests...`), checked before
// anything is printed or waited on: every field a command shows, compares or counts (server-answers.ts has
// the rules). What the server sent is then returned as it is: `--json` prints it whole.
import type { AccessRequestList, AccessRequestView, CreateAccessRequestResponse, Explanation, HostList } from '../shared/protocol.js'
import { ANSWER_LIMITS, AnswerNode, MAX_ID, MAX_TEXT, checkedAnswer } from './server-answers.js'

const MAX_ROWS = 10_000
const STATES = /^(pending|approved|denied|expired|cancelled|active|ended|revoked)$/
const REQUEST_ID = /^req-[a-z0-9]{10}$/


const names = (node: AnswerNode): void => void node.list(1000).forEach((item) => item.string({ max: MAX_TEXT }))

export const EXPLANATION_ANSWER = checkedAnswer<Explanation>({ what: 'explanation', maxBytes: ANSWER_LIMITS.admin.maxBytes }, (node) => {
  node.child('host').string({ max: MAX_TEXT })
  const allowed = node.child('allowed').boolean()
  node.child('target').boolean()
  if (allowed) {
    node.child('rule').string({ max: MAX_TEXT })
    names(node.child('logins'))
    node.child('until').time()
  } else {
    node.child('reason').nullableString()
    node.child('step_up').boolean(false)
    node.child('request_command').nullableString()
  }
  for (const rule of node.child('rules').list(MAX_ROWS)) {
    for (const key of ['rule', 'effect', 'outcome']) rule.child(key).string({ max: MAX_TEXT })
    rule.child('detail').nullableString()
  }
})

export const HOST_LIST_ANSWER = checkedAnswer<HostList>({ what: 'host list', maxBytes: ANSWER_LIMITS.admin.maxBytes }, (node) => {
  for (const host of node.child('hosts').list(MAX_ROWS)) {
    host.child('host').string({ max: MAX_TEXT })
    host.child('status').string({ max: 20, pattern: /^(allowed|not now|on request)$/, expected: 'allowed, not now or on request' })
    names(host.child('logins'))
    host.child('until').nullableTime()
    for (const key of ['reason', 'grant', 'request_command']) host.child(key).nullableString()
  }
})

function checkRequest(node: AnswerNode): void {
  node.child('id').string({ max: 20, pattern: REQUEST_ID, expected: 'a request id' })
  node.child('state').string({ max: 20, pattern: STATES, expected: 'a request state' })
  for (const key of ['requester', 'host', 'login', 'rule', 'review_url']) node.child(key).string({ max: MAX_TEXT })
  node.child('duration_seconds').number(0, 366 * 86_400, { integer: true })
  node.child('approvals').number(0, 1000, { integer: true })
  node.child('approvals_required').number(0, 1000, { integer: true })
  node.child('break_glass').boolean()
  node.child('reason').nullableString()
  node.child('created_at').time()
  node.child('pending_until').time()
  for (const key of ['approved_at', 'claim_by', 'ends_at', 'first_used_at', 'closed_at']) node.child(key).nullableTime()
  for (const key of ['closed_by', 'closed_reason']) node.child(key).nullableString()
  for (const review of node.child('reviews').list(1000)) {
    review.child('reviewer').string({ max: MAX_TEXT })
    review.child('decision').string({ max: 10, pattern: /^(approve|deny)$/, expected: 'approve or deny' })
    review.child('reason').nullableString()
    review.child('at').time()
  }
  for (const key of ['can_review', 'can_revoke', 'can_cancel']) node.child(key).boolean(false)
}

export const REQUEST_ANSWER = checkedAnswer<AccessRequestView>({ what: 'access request', maxBytes: ANSWER_LIMITS.admin.maxBytes }, checkRequest)

export const REQUEST_LIST_ANSWER = checkedAnswer<AccessRequestList>({ what: 'access request list', maxBytes: ANSWER_LIMITS.admin.maxBytes }, (node) => {
  for (const request of node.child('requests').list(MAX_ROWS)) checkRequest(request)
})

export const CREATED_REQUEST_ANSWER = checkedAnswer<CreateAccessRequestResponse>({ what: 'access request', maxBytes: ANSWER_LIMITS.admin.maxBytes }, (node) => {
  checkRequest(node.child('request'))
  node.child('dry_run').boolean()
  node.child('auto_approved').boolean()
  for (const approver of node.child('approvers').list(1000)) approver.string({ max: MAX_ID })
})
