// Access requests through the API (issue 12), on the embedded store with the server's clock injected: the
// rule decides what may be asked; approvers (never the requester, N distinct ones) decide; the grant's
// window starts at approval and must be claimed; time expires and ends requests; revocation puts the
// grant's certificates on the KRL; break-glass needs no approval and tells the approvers; every transition
// is audited and sent, signed, to a webhook receiver that is retried after a 500.
import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AccessRequestView, CreateAccessRequestResponse } from '../../src/shared/protocol.js'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { parseCertificate } from '../../src/ssh/certificate.js'
import { loginWithPassword, startTestServer, testClock, type TestServer } from '../helpers/server.js'
import { buildRevocationKrl } from '../../src/server/revocation/revocation-krl.js'

const SECRET = 'a-webhook-secret-of-32-characters'
const clock = testClock(Date.parse('2026-11-30T10:00:00Z'))
let srv: TestServer
let receiver: Server
const deliveries: Array<{ headers: IncomingHttpHeaders; body: string; status: number }> = []
/** The receiver answers 500 to the first delivery of these events (then accepts the retry). */
const failFirst = new Set<string>(['request.break_glass'])
const tokens: Record<string, string> = {}

beforeAll(async () => {
  receiver = createServer((request, reply) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    request.on('end', () => {
      const event = String(request.headers['x-jitssh-event'])
      const status = failFirst.delete(event) ? 500 : 204
      deliveries.push({ headers: request.headers, body, status })
      reply.writeHead(status).end()
    })
  })
  receiver.listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`
  srv = await startTestServer({
    now: clock.now,
    users: [
      { username: 'alice', email: 'alice@example.com', groups: ['dev'] },
      { username: 'dave', email: 'dave@example.com', groups: ['dev'] },
      { username: 'bob', email: 'bob@example.com', groups: ['ops'] },
      { username: 'carol', email: 'carol@example.com', groups: ['ops'] },
      { username: 'olga', email: 'olga@example.com', groups: ['oncall'] },
    ],
    targets: Object.fromEntries(['vm.example.com', 'db-1.prod.example.com', 'db-2.prod.example.com', 'staging.example.com'].map((host) => [host, '127.0.0.1:9'])),
    policy: [
      { name: 'dev', groups: ['dev'], hosts: ['vm.example.com'], principals: ['{email_local}'] },
      {
        name: 'prod-db', groups: ['dev'], hosts: ['db-*.prod.example.com'], principals: ['postgres'], max_ttl: '30m',
        request: { max_duration: '4h', approvals: 2, approvers: { groups: ['ops'] }, break_glass: { groups: ['oncall'] }, reason_prompt: 'Ticket and what you will do', claim_within: '10m' },
      },
      { name: 'staging', groups: ['dev'], hosts: ['staging.example.com'], principals: ['deploy'], request: { reason: 'optional', approvers: { users: ['bob@example.com'] }, auto_approve: { when: { source_networks: ['127.0.0.0/8'] } } } },
    ],
    config: { notifications: { webhooks: [{ url: hook, secret: SECRET }] }, sessions: { lifetime: '7d' } },
  })
  await signInEveryone()
}, 60_000)

/** Fresh access tokens for everyone (after the clock moved past their 10 minutes). */
async function signInEveryone(): Promise<void> {
  for (const user of ['alice', 'dave', 'bob', 'carol', 'olga']) tokens[user] = (await loginWithPassword(srv.url, user)).access_token
}
afterAll(async () => {
  await srv?.stop()
  receiver?.close()
})

async function api<T = Record<string, unknown>>(user: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T & { error?: string; message?: string; hint?: string } }> {
  const response = await fetch(`${srv.url}/v1/${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: (await response.json()) as T & { error?: string; message?: string } }
}
const ask = (user: string, body: Record<string, unknown>) => api<CreateAccessRequestResponse>(user, 'POST', 'requests', body)
const review = (user: string, id: string, decision: string, reason?: string) => api<AccessRequestView>(user, 'POST', `requests/${id}/review`, { decision, ...(reason ? { reason } : {}) })
const sign = (user: string, hostname: string) => api<{ certificate?: string; serial?: string }>(user, 'POST', 'ssh/sign', { public_key: formatPublicKey(generateKeyPair().publicKey), hostname })
const events = async (id: string) => (await srv.server.store.audit.read(0, 100_000)).filter((event) => event.type.startsWith('access_request.') && event.detail.request_id === id)
const prodAsk = { host: 'db-1.prod.example.com', duration_seconds: 7200, reason: 'INC-4711: vacuum the orders table' }

/** Waits for the receiver to see `count` deliveries of `event`. */
async function delivered(event: string, count = 1): Promise<Array<{ headers: IncomingHttpHeaders; body: string; status: number }>> {
  for (let i = 0; i < 100; i++) {
    const seen = deliveries.filter((delivery) => delivery.headers['x-jitssh-event'] === event)
    if (seen.length >= count) return seen
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no ${event} delivery; got ${deliveries.map((d) => d.headers['x-jitssh-event']).join(', ')}`)
}

describe('asking', () => {
  it('checks a dry run and stores nothing; refuses what the rule does not allow, saying why', async () => {
    const dry = await ask('alice', { ...prodAsk, dry_run: true })
    expect(dry.status).toBe(200)
    expect(dry.body).toMatchObject({ dry_run: true, approvers: ['group ops'], auto_approved: false, request: { state: 'pending', login: 'postgres', rule: 'prod-db', approvals_required: 2 } })
    expect((await api<{ requests: unknown[] }>('alice', 'GET', 'requests')).body.requests).toEqual([])

    expect((await ask('alice', { ...prodAsk, duration_seconds: 5 * 3600 })).body.message).toBe('duration 5h is longer than rule "prod-db" allows (4h)')
    expect((await ask('alice', { ...prodAsk, reason: '  ' })).body.message).toBe('a reason is required (Ticket and what you will do): add --reason "..."')
    expect((await ask('alice', { ...prodAsk, reason: 'bad \u202e reason' })).body.message).toBe('reason must not contain control characters')
    expect((await ask('alice', { ...prodAsk, login: 'root' })).body).toMatchObject({ error: 'ERR_POLICY_DENIED', message: 'rule "prod-db" grants postgres on db-1.prod.example.com, not root' })
    const elsewhere = await ask('alice', { ...prodAsk, host: 'mail.example.org' })
    expect(elsewhere).toMatchObject({ status: 403, body: { message: 'no policy rule lets alice@example.com request access to mail.example.org' } })
    // A pattern must stay within the rule: this one also matches vm.example.com, which prod-db does not cover.
    expect((await ask('alice', { ...prodAsk, host: '*.example.com' })).status).toBe(403)
    expect((await ask('alice', { ...prodAsk, host: '*' })).body.error).toBe('ERR_INVALID_HOSTNAME')
    expect((await ask('olga', prodAsk)).status).toBe(403) // on call, but break-glass only: no plain requests
  })

  it('shows the exact request command when signing is denied, and offers the host in jitssh hosts', async () => {
    const denied = await sign('alice', 'db-2.prod.example.com')
    expect(denied.status).toBe(403)
    expect(denied.body).toMatchObject({
      error: 'ERR_POLICY_DENIED',
      message: 'db-2.prod.example.com needs an approved access request for alice@example.com (rule "prod-db")',
      hint: 'ask: jitssh request create --host db-2.prod.example.com --login postgres --duration 1h --reason "Ticket and what you will do"',
    })
    const hosts = await api<{ hosts: Array<{ host: string; status: string }> }>('alice', 'GET', 'hosts')
    expect(hosts.body.hosts.filter((host) => host.host.startsWith('db-')).map((host) => host.status)).toEqual(['on request', 'on request'])
  })
})

describe('reviewing', () => {
  it('needs two distinct approvers, never the requester; strangers learn nothing; then the grant signs exactly what it names', async () => {
    const created = await ask('alice', prodAsk)
    expect(created.status).toBe(200)
    const id = created.body.request.id
    expect(id).toMatch(/^req-[a-z2-9]{10}$/)

    const self = await review('alice', id, 'approve')
    expect(self).toMatchObject({ status: 403, body: { message: 'alice@example.com cannot review their own request' } })
    const stranger = await review('dave', id, 'approve')
    expect(stranger).toMatchObject({ status: 404, body: { message: `no access request ${id} that you can see` } })
    expect((await api('dave', 'GET', `requests/${id}`)).status).toBe(404)

    const first = await review('bob', id, 'approve', 'ticket checked')
    expect(first.body).toMatchObject({ state: 'pending', approvals: 1, approvals_required: 2 })
    expect((await review('bob', id, 'approve')).body.message).toBe(`bob@example.com has reviewed ${id} already`)
    expect((await sign('alice', 'db-1.prod.example.com')).status).toBe(403) // one approval of two: nothing yet

    clock.advance(60_000)
    const second = await review('carol', id, 'approve')
    expect(second.body).toMatchObject({ state: 'approved', approvals: 2, approved_at: new Date(clock.now()).toISOString() })
    // The window starts at approval, not at creation.
    expect(Date.parse(second.body.ends_at!)).toBe(clock.now() + 7200_000)

    const signed = await sign('alice', 'db-1.prod.example.com')
    expect(signed.status).toBe(200)
    const certificate = parseCertificate(signed.body.certificate!)
    expect(certificate.principals).toEqual(['postgres'])
    expect(Number(certificate.validBefore) * 1000).toBeLessThanOrEqual(clock.now() + 30 * 60_000)
    expect((await sign('alice', 'db-2.prod.example.com')).status).toBe(403) // another host
    expect((await api<AccessRequestView>('alice', 'GET', `requests/${id}`)).body.state).toBe('active')

    expect((await events(id)).map((event) => [event.type, event.detail.by])).toEqual([
      ['access_request.created', 'alice@example.com'],
      ['access_request.reviewed', 'bob@example.com'],
      ['access_request.reviewed', 'carol@example.com'],
      ['access_request.approved', 'carol@example.com'],
      ['access_request.activated', 'alice@example.com'],
    ])
    const refused = (await srv.server.store.audit.read(0, 100_000)).filter((event) => event.type === 'access.denied' && event.detail.request_id === id)
    expect(refused.map((event) => [event.user, event.detail.action])).toEqual([['alice@example.com', 'request.review']])

    // Early revocation by the requester: signing stops, and the grant's certificate is on the KRL.
    const revoked = await api<AccessRequestView>('alice', 'POST', `requests/${id}/revoke`, { reason: 'done early' })
    expect(revoked.body).toMatchObject({ state: 'revoked', closed_by: 'alice@example.com', closed_reason: 'done early' })
    expect((await sign('alice', 'db-1.prod.example.com')).status).toBe(403)
    const krl = await buildRevocationKrl(srv.server.store, srv.server.context.keys.userCa.publicKey, clock.now())
    expect((await srv.server.store.certificates.listRevoked(Math.floor(clock.now() / 1000))).serials).toContain(signed.body.serial)
    expect(krl.revoked).toBeGreaterThanOrEqual(1)
  })

  it('denies with one reviewer and a reason (a denial without one is refused); the requester cancels, others cannot', async () => {
    const id = (await ask('alice', prodAsk)).body.request.id
    expect((await review('bob', id, 'deny')).body.message).toBe('a denial needs a reason: add --reason "..."')
    expect((await review('bob', id, 'deny', 'not during the freeze')).body).toMatchObject({ state: 'denied', closed_by: 'bob@example.com', closed_reason: 'not during the freeze' })
    expect((await review('carol', id, 'approve')).body.message).toBe(`${id} is denied: it can no longer be reviewed`)

    const other = (await ask('alice', prodAsk)).body.request.id
    expect((await api('bob', 'POST', `requests/${other}/cancel`, {})).body.message).toBe(`only alice@example.com can cancel ${other}`)
    expect((await api<AccessRequestView>('alice', 'POST', `requests/${other}/cancel`, { reason: 'wrong host' })).body).toMatchObject({ state: 'cancelled', closed_reason: 'wrong host' })
    const toReview = await api<{ requests: AccessRequestView[] }>('bob', 'GET', 'requests?scope=review')
    expect(toReview.body.requests.map((request) => request.id)).not.toContain(other)
    expect((await api('alice', 'GET', 'requests?scope=all')).status).toBe(403) // not an admin
  })

  it('approves at once when the rule\'s auto_approve conditions hold', async () => {
    const staged = await ask('alice', { host: 'staging.example.com', duration_seconds: 600 })
    expect(staged.body).toMatchObject({ auto_approved: true, request: { state: 'approved', login: 'deploy' } })
    expect((await events(staged.body.request.id)).map((event) => [event.type, event.detail.by])).toEqual([
      ['access_request.created', 'alice@example.com'], ['access_request.approved', 'auto-approval'],
    ])
    expect((await sign('alice', 'staging.example.com')).status).toBe(200)
  })
})

describe('time', () => {
  it('expires what nobody reviewed, and approvals nobody used by the claim-by deadline; ends grants at their end', async () => {
    const stale = (await ask('alice', prodAsk)).body.request.id
    const unclaimed = (await ask('alice', prodAsk)).body.request.id
    const used = (await ask('alice', { ...prodAsk, duration_seconds: 1200 })).body.request.id
    for (const id of [unclaimed, used]) for (const reviewer of ['bob', 'carol']) expect((await review(reviewer, id, 'approve')).status).toBe(200)
    expect((await sign('alice', 'db-1.prod.example.com')).status).toBe(200) // claims the first usable grant
    const firstUsed = (await api<AccessRequestView>('alice', 'GET', `requests/${unclaimed}`)).body.state === 'active' ? unclaimed : used
    const neverUsed = firstUsed === unclaimed ? used : unclaimed

    clock.advance(11 * 60_000) // past claim_within (10m)
    await srv.server.context.requests.sweep()
    await signInEveryone()
    expect((await api<AccessRequestView>('alice', 'GET', `requests/${neverUsed}`)).body).toMatchObject({ state: 'expired', closed_by: 'system', closed_reason: 'not used by its claim-by deadline' })
    expect((await api<AccessRequestView>('alice', 'GET', `requests/${firstUsed}`)).body.state).toBe('active')

    clock.advance(24 * 3_600_000)
    await srv.server.context.requests.sweep()
    await signInEveryone()
    expect((await api<AccessRequestView>('alice', 'GET', `requests/${stale}`)).body).toMatchObject({ state: 'expired', closed_reason: 'not reviewed in time' })
    expect((await api<AccessRequestView>('alice', 'GET', `requests/${firstUsed}`)).body).toMatchObject({ state: 'ended', closed_reason: 'its time is up' })
    expect((await events(stale)).at(-1)).toMatchObject({ type: 'access_request.expired', detail: { by: 'system', from: 'pending' } })
    const expired = await delivered('request.expired', 2)
    expect(expired.map((delivery) => (JSON.parse(delivery.body) as { request: { id: string } }).request.id)).toEqual(expect.arrayContaining([stale, neverUsed]))
  })

  it('holds at most 20 pending requests per person', async () => {
    const ids: string[] = []
    for (let i = 0; i < 25; i++) {
      const created = await ask('dave', prodAsk)
      if (created.status !== 200) {
        expect(created.body.message).toBe('dave@example.com has 20 pending requests already: cancel some first (jitssh request ls)')
        break
      }
      ids.push(created.body.request.id)
    }
    expect(ids).toHaveLength(20)
    for (const id of ids) await api('dave', 'POST', `requests/${id}/cancel`, {})
  })
})

describe('break-glass and webhooks', () => {
  it('grants the on-call person at once, with a reason, tagged; tells the approvers through a signed webhook retried after a 500', async () => {
    expect((await api('olga', 'POST', 'requests', { ...prodAsk, reason: undefined, break_glass: true })).body.message).toMatch(/^a reason is required/)
    expect((await ask('alice', { ...prodAsk, break_glass: true })).body.message).toBe('no policy rule lets alice@example.com take break-glass access to db-1.prod.example.com')
    const glass = await ask('olga', { ...prodAsk, break_glass: true, reason: 'SEV1: orders down' })
    expect(glass.body.request).toMatchObject({ state: 'approved', break_glass: true })
    expect((await sign('olga', 'db-1.prod.example.com')).status).toBe(200)
    expect((await events(glass.body.request.id))[0]).toMatchObject({ type: 'access_request.break_glass', detail: { break_glass: true, by: 'olga@example.com', reason: 'SEV1: orders down' } })

    const [failed, retried] = await delivered('request.break_glass', 2)
    expect(failed!.status).toBe(500)
    expect(retried!.status).toBe(204)
    expect(retried!.body).toBe(failed!.body) // the same delivery, again
    const payload = JSON.parse(retried!.body) as { event: string; notify: string[]; review_url: string; text: string; request: Record<string, unknown> }
    expect(payload).toMatchObject({ event: 'request.break_glass', notify: ['group ops'], review_url: `${srv.url}/requests/${glass.body.request.id}`, request: { requester: 'olga@example.com', break_glass: true } })
    expect(payload.text).toMatch(/^:rotating_light: BREAK-GLASS: olga@example\.com took postgres@db-1\.prod\.example\.com for 2h without approval: “SEV1: orders down” · <http/)
    const timestamp = String(retried!.headers['x-jitssh-timestamp'])
    expect(retried!.headers['x-jitssh-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${retried!.body}`).digest('hex')}`)
    expect(retried!.headers['x-jitssh-signature']).not.toBe(`sha256=${createHmac('sha256', 'another-secret-of-32-characters!').update(`${timestamp}.${retried!.body}`).digest('hex')}`)
    expect(retried!.headers['content-type']).toBe('application/json')
    // Created requests are delivered too, with a link to review them and no way to approve by the link itself.
    const created = JSON.parse((await delivered('request.created'))[0]!.body) as { review_url: string }
    expect(created.review_url).toMatch(new RegExp(`^${srv.url}/requests/req-[a-z2-9]{10}$`))
  })
})
