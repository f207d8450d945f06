// The admin API's answers (`/v1/admin/...`), checked before any table is drawn or count is printed: every
// field a command shows or counts (src/client/server-answers.ts has the rules). What the server sent is then
// returned as it is: `--json` prints it whole.
import type { AuditPage, DisabledUserList, RecordingInfo, RecordingList, RevokeResult, ServiceAccountList, SessionList, TunnelList, UserAccessResult } from '../../shared/protocol.js'
import { ANSWER_LIMITS, AnswerNode, MAX_ID, MAX_TEXT, checkedAnswer } from '../server-answers.js'

/** More rows than any one answer of the server has (it lists at most 10,000 sessions, 1,000 events a page). */
const MAX_ROWS = 100_000
const MAX_COUNT = 1e9


export const SESSION_LIST_ANSWER = checkedAnswer<SessionList>(ANSWER_LIMITS.sessionList, (node) => {
  for (const session of node.child('sessions').list(MAX_ROWS)) {
    session.child('session_id').string({ max: MAX_ID })
    session.child('user').string({ max: MAX_TEXT })
    session.child('created_at').time()
    session.child('expires_at').time()
    session.child('revoked_at').nullableTime()
    session.child('live_tunnels').number(0, MAX_COUNT, { integer: true })
    session.child('state').nullableString(MAX_ID)
    session.child('revoked_reason').nullableString()
  }
})

export const TUNNEL_LIST_ANSWER = checkedAnswer<TunnelList>(ANSWER_LIMITS.sessionList, (node) => {
  for (const tunnel of node.child('tunnels').list(MAX_ROWS)) {
    tunnel.child('id').number(0, Number.MAX_SAFE_INTEGER, { integer: true })
    for (const key of ['session_id', 'user', 'host']) tunnel.child(key).string({ max: MAX_TEXT })
    tunnel.child('opened_at').time()
  }
})

export const AUDIT_PAGE_ANSWER = checkedAnswer<AuditPage>(ANSWER_LIMITS.auditPage, (node) => {
  const events = node.child('events').list(MAX_ROWS)
  for (const event of events) {
    event.child('seq').number(0, Number.MAX_SAFE_INTEGER, { integer: true })
    event.child('time').time()
    event.child('type').string({ max: MAX_ID })
    event.child('outcome').string({ max: MAX_ID })
    for (const key of ['user', 'session_id', 'host']) event.child(key).nullableString()
    event.child('detail').object()
  }
  const cursor = node.child('next_cursor')
  if (!cursor.missing) {
    cursor.token(4096, 'a cursor')
    // Asked again with it, such a server could keep the client paging forever.
    if (events.length === 0) cursor.fail('null after a page with no events', 'a cursor')
  }
})

function checkRevocation(node: AnswerNode): void {
  node.child('user').nullableString()
  for (const session of node.child('revoked_sessions').list(MAX_ROWS)) session.string({ max: MAX_ID })
  node.child('tunnels_closed').number(0, MAX_COUNT, { integer: true })
}

export const REVOKE_ANSWER = checkedAnswer<RevokeResult>(ANSWER_LIMITS.admin, checkRevocation)

export const USER_ACCESS_ANSWER = checkedAnswer<UserAccessResult>(ANSWER_LIMITS.admin, (node) => {
  checkRevocation(node)
  node.child('user').string({ max: MAX_TEXT })
  node.child('disabled').boolean()
  node.child('changed').boolean()
})

export const DISABLED_USERS_ANSWER = checkedAnswer<DisabledUserList>(ANSWER_LIMITS.admin, (node) => {
  for (const user of node.child('users').list(MAX_ROWS)) {
    user.child('user').string({ max: MAX_TEXT })
    user.child('disabled_at').time()
    user.child('disabled_by').nullableString()
    user.child('reason').nullableString()
  }
})

function checkRecording(node: AnswerNode): void {
  for (const key of ['id', 'session_id']) node.child(key).string({ max: MAX_ID })
  for (const key of ['user', 'host', 'login']) node.child(key).string({ max: MAX_TEXT })
  node.child('started_at').time()
  node.child('ended_at').nullableTime()
  for (const key of ['duration_ms', 'size']) if (!node.child(key).missing) node.child(key).number(0, Number.MAX_SAFE_INTEGER, { integer: true })
  const sha = node.child('sha256')
  if (!sha.missing) sha.string({ max: 64, pattern: /^[0-9a-f]{64}$/, expected: 'a SHA-256 in hex' })
  node.child('record_input').boolean()
}

export const RECORDING_ANSWER = checkedAnswer<RecordingInfo>(ANSWER_LIMITS.admin, checkRecording)

export const RECORDING_LIST_ANSWER = checkedAnswer<RecordingList>(ANSWER_LIMITS.sessionList, (node) => {
  for (const recording of node.child('recordings').list(MAX_ROWS)) checkRecording(recording)
})

export const SERVICE_ACCOUNT_LIST_ANSWER = checkedAnswer<ServiceAccountList>(ANSWER_LIMITS.admin, (node) => {
  for (const account of node.child('service_accounts').list(MAX_ROWS)) {
    for (const key of ['name', 'user', 'owner']) account.child(key).string({ max: MAX_TEXT })
    for (const key of ['hosts', 'principals']) for (const item of account.child(key).list(1000)) item.string({ max: MAX_TEXT })
    account.child('max_ttl_seconds').number(0, MAX_COUNT, { integer: true })
    account.child('disabled_in_config').boolean()
    const byAdmin = account.child('disabled_by_admin')
    if (!byAdmin.missing) {
      byAdmin.child('disabled_at').time()
      byAdmin.child('disabled_by').nullableString()
      byAdmin.child('reason').nullableString()
    }
    for (const trust of account.child('trusts').list(1000)) trust.child('name').string({ max: MAX_TEXT })
    for (const client of account.child('clients').list(1000)) client.child('id').string({ max: MAX_TEXT })
    account.child('active_sessions').number(0, MAX_COUNT, { integer: true })
  }
})
