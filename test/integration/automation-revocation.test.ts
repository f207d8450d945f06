// Service accounts end like people (issue 14): revoking or disabling one (admin API), disabling it or changing
// the trust that authenticated it in the config (reload), each ends its sessions at once: signing is refused,
// live tunnels close within a second, unexpired certificates go on the KRL. Service accounts are reached by
// policy only through `service_accounts`, never become admins, and unauthenticated refusals stay budgeted.
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { parse, stringify } from 'yaml'
import { ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, TUNNEL_CLOSE, type ServiceAccountList } from '../../src/shared/protocol.js'
import { adminCall, krlVerdicts, signFor } from '../helpers/admin.js'
import { listenOnLoopback, loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'
import { GITHUB_CLAIMS, startWorkloadIssuer, type WorkloadIssuer } from '../helpers/workload-issuer.js'

const AUDIENCE = 'https://access.example.com'
let gha: WorkloadIssuer
let echo: Server
let srv: TestServer
let original: string
let admin: string
let dir: string

beforeAll(async () => {
  gha = await startWorkloadIssuer()
  echo = createServer((socket) => socket.pipe(socket))
  const echoAddress = `127.0.0.1:${await listenOnLoopback(echo)}`
  srv = await startTestServer({
    targets: { 'app.example.com': echoAddress },
    policy: [
      { name: 'deploys', service_accounts: ['deploy-bot'], hosts: ['app.example.com'], principals: ['deploy'] },
      { name: 'people', groups: ['dev'], users: ['service:deploy-bot', 'deploy-bot'], email_domains: ['example.com'], hosts: ['people.example.com'], principals: ['deploy'] },
    ],
    config: {
      admins: { groups: ['ops'], users: ['service:deploy-bot'] },
      service_accounts: [{
        name: 'deploy-bot', owner: 'platform@example.com', hosts: ['*.example.com'], principals: ['deploy'], max_ttl: '10m',
        trusts: [{ name: 'gha-deploy', issuer: gha.url, audience: AUDIENCE, claims: { repository_id: GITHUB_CLAIMS.repository_id } }],
      }],
    },
  })
  original = readFileSync(srv.configPath, 'utf8')
  admin = (await loginWithPassword(srv.url, 'bob')).access_token
  dir = mkdtempSync(join(tmpdir(), 'jitssh-automation-'))
})
afterAll(async () => {
  await srv?.stop()
  await gha?.stop()
  echo?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function serviceToken(): Promise<string> {
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: await gha.mint({ aud: AUDIENCE }), subject_token_type: ID_TOKEN_TYPE }),
  })
  const body = (await response.json()) as { access_token: string }
  expect(response.status, JSON.stringify(body)).toBe(200)
  return body.access_token
}

async function tunnel(token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=app.example.com`, { headers: { authorization: `Bearer ${token}` } })
  await once(ws, 'open')
  return ws
}

/** The close code, within `ms` (a revocation must reach live tunnels within a second). */
function closedWithin(ws: WebSocket, ms: number): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tunnel still open after ${ms} ms`)), ms)
    ws.once('close', (code, reason) => {
      clearTimeout(timer)
      resolve({ code, reason: reason.toString() })
    })
  })
}

function rewrite(change: (config: Record<string, unknown>) => void): void {
  const config = parse(original) as Record<string, unknown>
  change(config)
  writeFileSync(srv.configPath, stringify(config))
}
const account = (config: Record<string, unknown>): Record<string, unknown> => (config.service_accounts as Array<Record<string, unknown>>)[0]!

describe('ending a service account\'s access', () => {
  it('admin revoke: signing stops, the live tunnel closes within a second (4001), its certificate goes on the KRL', async () => {
    const token = await serviceToken()
    const signed = await signFor(srv.url, token, 'app.example.com')
    expect(signed.status).toBe(200)
    const ws = await tunnel(token)
    const closing = closedWithin(ws, 1_500)
    const revoked = await adminCall<{ revoked_sessions: string[]; tunnels_closed: number }>(srv.url, admin, 'service-accounts/revoke', { name: 'deploy-bot', reason: 'leaked' })
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200)
    expect(revoked.body.tunnels_closed).toBe(1)
    expect((await closing).code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect((await signFor(srv.url, token, 'app.example.com')).status).toBe(401)
    const krl = join(dir, 'krl')
    writeFileSync(krl, Buffer.from(await (await fetch(`${srv.url}/v1/ssh/krl`)).arrayBuffer()))
    expect(await krlVerdicts(dir, krl, [signed.body.certificate])).toEqual(['REVOKED'])
    // Revoked, not disabled: it may authenticate again.
    expect((await signFor(srv.url, await serviceToken(), 'app.example.com')).status).toBe(200)
  })

  it('admin disable and enable: listed with its state; disabled, its sessions and tunnels end at once', async () => {
    const token = await serviceToken()
    const ws = await tunnel(token)
    const closing = closedWithin(ws, 1_500)
    expect((await adminCall(srv.url, admin, 'service-accounts/disable', { name: 'deploy-bot' })).status).toBe(200)
    expect((await closing).code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect((await signFor(srv.url, token, 'app.example.com')).status).toBe(401)
    const listed = await adminCall<ServiceAccountList>(srv.url, admin, 'service-accounts')
    expect(listed.body.service_accounts).toEqual([expect.objectContaining({
      name: 'deploy-bot', user: 'service:deploy-bot', owner: 'platform@example.com', principals: ['deploy'], max_ttl_seconds: 600,
      disabled_in_config: false, disabled_by_admin: expect.objectContaining({ disabled_by: 'bob@example.com' }), active_sessions: 0,
      trusts: [{ name: 'gha-deploy', issuer: gha.url, audience: AUDIENCE, allow_pull_requests: false }],
    })])
    expect((await adminCall(srv.url, admin, 'service-accounts/enable', { name: 'deploy-bot' })).status).toBe(200)
    const events = (await srv.server.store.audit.read(0, 100_000)).map((event) => event.type)
    expect(events).toContain('admin.service_account.disable')
    expect(events).toContain('admin.service_account.enable')
  })

  it('reload: a changed trust ends the sessions it authenticated (signing refused, tunnel closed); the account disabled in the config too', async () => {
    const token = await serviceToken()
    const ws = await tunnel(token)
    const closing = closedWithin(ws, 2_500)
    rewrite((config) => void ((account(config).trusts as Array<Record<string, unknown>>)[0]!.claims = { repository_id: GITHUB_CLAIMS.repository_id, ref: 'refs/heads/main' }))
    expect(await srv.server.reload()).toMatchObject({ ok: true, changed: ['serviceAccounts'] })
    expect((await closing).code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    const refused = await signFor(srv.url, token, 'app.example.com')
    expect(refused.status).toBe(401)

    const fresh = await serviceToken()
    const ws2 = await tunnel(fresh)
    const closing2 = closedWithin(ws2, 2_500)
    rewrite((config) => void (account(config).disabled = true))
    expect((await srv.server.reload()).ok).toBe(true)
    expect((await closing2).reason).toMatch(/disabled in the server's configuration/)
    rewrite(() => undefined)
    expect((await srv.server.reload()).ok).toBe(true)
  })
})

describe('who a service account is', () => {
  it('is reached only through service_accounts: not by users, groups or email_domains; and is never an admin', async () => {
    const token = await serviceToken()
    expect((await signFor(srv.url, token, 'people.example.com')).status).toBe(403)
    const asAdmin = await adminCall(srv.url, token, 'sessions')
    expect(asAdmin.status).toBe(403)
  })

  it('a person never matches a service_accounts rule', async () => {
    const alice = await loginWithPassword(srv.url, 'alice')
    expect((await signFor(srv.url, alice.access_token, 'app.example.com')).status).toBe(403)
  })
})

describe('what unauthenticated callers can make the server store', () => {
  it('refusals of tokens nobody vouched for come out of the unauthenticated audit budget (half of it for unknown subjects)', async () => {
    const small = await startTestServer({
      config: {
        rate_limits: { unauthenticated_audit_per_minute: 4 },
        service_accounts: [{ name: 'x', owner: 'o', hosts: ['*.example.com'], principals: ['deploy'], trusts: [{ name: 't', issuer: gha.url, audience: AUDIENCE, claims: { repository_id: '1' } }] }],
      },
    })
    try {
      for (let i = 0; i < 10; i++) {
        await fetch(`${small.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: await gha.mint({ aud: AUDIENCE, repository_id: String(i + 100) }), subject_token_type: ID_TOKEN_TYPE }),
        })
      }
      const rows = (await small.server.store.audit.read(0, 1000)).filter((event) => event.type === 'token_exchange.refused')
      expect(rows.length).toBeGreaterThan(0)
      expect(rows.length).toBeLessThanOrEqual(2)
    } finally {
      await small.stop()
    }
  })
})
