// Revocation through the admin API of jitssh-server: revoking a session or a user, or disabling a user,
// makes refresh and signing fail at once and closes live tunnels (4001) within a second; disabled users
// cannot log in until enabled; GET /v1/ssh/krl (and `jitssh-server krl`) revokes exactly the unexpired
// certificates of revoked sessions, as `ssh-keygen -Q` reads it; the audit chain still verifies.
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CLIENT_ID, TUNNEL_CLOSE } from '../../src/shared/protocol.js'
import { verifyAuditChain } from '../../src/server/audit/audit-verify.js'
import { run as runServerCli } from '../../src/server/commands/main.js'
import { adminCall, krlVerdicts, refreshWith, signFor } from '../helpers/admin.js'
import { auditKeysOf } from '../helpers/audit.js'
import { authorizeInBrowser, DEFAULT_USERS, loginWithPassword, startTestServer, TestBrowser, testClock, type TestServer } from '../helpers/server.js'

type Login = Awaited<ReturnType<typeof loginWithPassword>>
const clock = testClock()
let srv: TestServer
let echo: Server
let bob: Login
let dir: string
/** Certificates issued along the way, with the verdict the KRL must give. */
const issued: Array<{ line: string; revoked: boolean; what: string }> = []

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  echo.listen(0, '127.0.0.1')
  await once(echo, 'listening')
  srv = await startTestServer({
    now: clock.now,
    users: [...DEFAULT_USERS, { username: 'carol', email: 'carol@example.com', groups: ['dev'] }],
    targets: { 'echo.example.com': `127.0.0.1:${(echo.address() as { port: number }).port}` },
    config: { admins: { groups: ['ops'] } },
  })
  bob = await loginWithPassword(srv.url, 'bob')
  dir = mkdtempSync(join(tmpdir(), 'jitssh-revocation-'))
})
afterAll(async () => {
  await srv?.stop()
  echo?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function issue(login: Login, what: string): Promise<string> {
  const signed = await signFor(srv.url, login.access_token, 'echo.example.com')
  expect(signed.status, JSON.stringify(signed.body)).toBe(200)
  issued.push({ line: signed.body.certificate, revoked: false, what })
  return signed.body.certificate
}
const markRevoked = (line: string): void => void (issued.find((cert) => cert.line === line)!.revoked = true)

async function openTunnel(token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=echo.example.com`, { headers: { authorization: `Bearer ${token}` } })
  await once(ws, 'open')
  return ws
}
const closeOf = (ws: WebSocket): Promise<{ code: number; at: number }> => once(ws, 'close').then(([code]) => ({ code: code as number, at: performance.now() }))

/** Refresh and signing both refused, right away (no waiting for a cache). */
async function expectDead(login: Login): Promise<void> {
  const refresh = await refreshWith(srv.url, login.refresh_token)
  expect(refresh.status).toBe(400)
  expect(refresh.body.error).toBe('invalid_grant')
  const sign = await signFor(srv.url, login.access_token, 'echo.example.com')
  expect(sign.status).toBe(401)
  expect(sign.body).toMatchObject({ error: 'ERR_SESSION_REVOKED' })
}

describe('revoking a session', () => {
  it('fails its refresh and signing at once, closes its live tunnel with 4001 within 1 s, and leaves other sessions alone', async () => {
    const a1 = await loginWithPassword(srv.url, 'alice')
    const a2 = await loginWithPassword(srv.url, 'alice')
    const cert = await issue(a1, 'alice, revoked session')
    await issue(a2, 'alice, second session (revoked later with the user)')
    const ws = await openTunnel(a1.access_token)
    const closed = closeOf(ws)
    const started = performance.now()
    const result = await adminCall(srv.url, bob.access_token, 'revoke', { session_id: a1.session_id, reason: 'laptop stolen' })
    expect(result).toEqual({ status: 200, body: { user: 'alice@example.com', revoked_sessions: [a1.session_id], tunnels_closed: 1 } })
    const { code, at } = await closed
    expect(code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    expect(at - started).toBeLessThan(1000)
    markRevoked(cert)
    await expectDead(a1)
    await issue(a2, 'alice, second session still signs')

    const events = await srv.server.store.admin.searchAudit({ types: ['session.revoke', 'admin.revoke'], order: 'asc', limit: 10 })
    expect(events.map((e) => [e.type, e.user, e.sessionId])).toEqual([
      ['session.revoke', 'alice@example.com', a1.session_id],
      ['admin.revoke', 'bob@example.com', bob.session_id],
    ])
    expect(events[0]!.detail).toMatchObject({ reason: 'by an admin', by: 'bob@example.com', admin_reason: 'laptop stolen' })
    expect(events[1]!.detail).toMatchObject({ target_user: 'alice@example.com', target_session: a1.session_id, tunnels_closed: 1, reason: 'laptop stolen' })

    const again = await adminCall(srv.url, bob.access_token, 'revoke', { session_id: a1.session_id })
    expect(again.body).toEqual({ user: 'alice@example.com', revoked_sessions: [], tunnels_closed: 0 })
  })

  it('refuses unknown sessions and ambiguous requests', async () => {
    expect(await adminCall(srv.url, bob.access_token, 'revoke', { session_id: 'no-such-session' })).toMatchObject({ status: 404, body: { error: 'ERR_NOT_FOUND' } })
    expect((await adminCall(srv.url, bob.access_token, 'revoke', { session_id: 'x', user: 'alice' })).body.message).toBe('give exactly one of session_id and user')
    expect((await adminCall(srv.url, bob.access_token, 'revoke', {})).status).toBe(400)
    expect((await adminCall(srv.url, bob.access_token, 'revoke', { user: 'nobody' })).status).toBe(404)
  })
})

describe('revoking a user', () => {
  it('revokes every active session of the user (by username), closes their tunnels, and nobody else’s', async () => {
    const a3 = await loginWithPassword(srv.url, 'alice')
    const carol = await loginWithPassword(srv.url, 'carol')
    const aliceSessions = (await srv.server.store.admin.listSessions({ now: clock.now(), includeEnded: false, userEmail: 'alice@example.com', limit: 10 })).map((s) => s.id)
    expect(aliceSessions).toHaveLength(2)
    const aliceTunnel = await openTunnel(a3.access_token)
    const carolTunnel = await openTunnel(carol.access_token)
    const closed = closeOf(aliceTunnel)
    const result = await adminCall<{ revoked_sessions: string[]; tunnels_closed: number }>(srv.url, bob.access_token, 'revoke', { user: 'alice' })
    expect(result.status).toBe(200)
    expect([...result.body.revoked_sessions].sort()).toEqual([...aliceSessions].sort())
    expect(result.body.tunnels_closed).toBe(1)
    expect((await closed).code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    await expectDead(a3)
    for (const cert of issued) if (cert.what.startsWith('alice')) cert.revoked = true
    expect(carolTunnel.readyState).toBe(WebSocket.OPEN)
    await issue(carol, 'carol, first session still signs')
    carolTunnel.close()
  })
})

describe('disabling a user', () => {
  it('ends their sessions and tunnels at once, refuses new logins and token exchanges, until enabled again', async () => {
    const carol = (await srv.server.store.admin.listSessions({ now: clock.now(), includeEnded: false, userEmail: 'carol@example.com', limit: 10 }))[0]!
    const c2 = await loginWithPassword(srv.url, 'carol')
    await issue(c2, 'carol, disabled')
    const tunnel = await openTunnel(c2.access_token)
    const closed = closeOf(tunnel)
    const pendingCode = await authorizeInBrowser(new TestBrowser(), srv.url, 'carol') // a login halfway through

    const result = await adminCall(srv.url, bob.access_token, 'users/disable', { user: 'carol@example.com', reason: 'left the company' })
    expect(result.status).toBe(200)
    expect(result.body).toMatchObject({ user: 'carol@example.com', disabled: true, changed: true, tunnels_closed: 1 })
    expect((result.body.revoked_sessions as string[]).sort()).toEqual([carol.id, c2.session_id].sort())
    expect((await closed).code).toBe(TUNNEL_CLOSE.SESSION_REVOKED)
    for (const cert of issued) if (cert.what.startsWith('carol')) cert.revoked = true
    await expectDead(c2)

    await expect(loginWithPassword(srv.url, 'carol')).rejects.toThrow(/authorize returned an error: http:\/\/127\.0\.0\.1:49152\/callback\?error=access_denied&error_description=account\+disabled/)
    const exchange = await fetch(`${srv.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: pendingCode.code, redirect_uri: pendingCode.redirectUri, code_verifier: pendingCode.verifier, client_id: CLIENT_ID }),
    })
    expect(exchange.status).toBe(400)
    expect(await exchange.json()).toEqual({ error: 'invalid_grant', error_description: 'account disabled: carol@example.com has been disabled by an administrator of this server' })

    const listed = await adminCall<{ users: Array<Record<string, unknown>> }>(srv.url, bob.access_token, 'users/disabled')
    expect(listed.body.users).toEqual([expect.objectContaining({ user: 'carol@example.com', disabled_by: 'bob@example.com', reason: 'left the company' })])
    expect((await adminCall(srv.url, bob.access_token, 'users/disable', { user: 'carol' })).body).toMatchObject({ changed: false })
    expect((await adminCall(srv.url, bob.access_token, 'users/disable', { user: 'bob' })).body.message).toBe('admins cannot disable themselves')

    expect((await adminCall(srv.url, bob.access_token, 'users/enable', { user: 'carol' })).body).toMatchObject({ user: 'carol@example.com', disabled: false, changed: true })
    const back = await loginWithPassword(srv.url, 'carol')
    await issue(back, 'carol, after enable')
    const types = (await srv.server.store.admin.searchAudit({ types: ['admin.user'], order: 'asc', limit: 10 })).map((e) => `${e.type} ${e.user} ${String(e.detail.target_user)}`)
    expect(types).toEqual(['admin.user.disable bob@example.com carol@example.com', 'admin.user.disable bob@example.com carol@example.com', 'admin.user.enable bob@example.com carol@example.com'])
  })
})

describe('GET /v1/ssh/krl and jitssh-server krl', () => {
  it('serve a KRL, without a token, that ssh-keygen -Q reads: REVOKED for revoked sessions’ certificates, ok for the rest', async () => {
    expect(issued.filter((c) => c.revoked).length).toBeGreaterThanOrEqual(3)
    expect(issued.filter((c) => !c.revoked).length).toBeGreaterThanOrEqual(1)
    const response = await fetch(`${srv.url}/v1/ssh/krl`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/octet-stream')
    expect(response.headers.get('cache-control')).toMatch(/public/)
    const krlPath = join(dir, 'served.krl')
    writeFileSync(krlPath, Buffer.from(await response.arrayBuffer()))
    expect(await krlVerdicts(dir, krlPath, issued.map((c) => c.line))).toEqual(issued.map((c) => (c.revoked ? 'REVOKED' : 'ok')))
    expect(Number(response.headers.get('x-jitssh-revoked-certificates'))).toBe(issued.filter((c) => c.revoked).length)

    const etag = response.headers.get('etag')!
    expect((await fetch(`${srv.url}/v1/ssh/krl`, { headers: { 'if-none-match': etag } })).status).toBe(304)
    // A new revocation changes the ETag and raises krl_version.
    const version = Number(response.headers.get('x-jitssh-krl-version'))
    clock.advance(1000)
    const extra = await loginWithPassword(srv.url, 'carol')
    await issue(extra, 'carol, revoked last')
    await adminCall(srv.url, bob.access_token, 'revoke', { session_id: extra.session_id })
    markRevoked(issued[issued.length - 1]!.line)
    const after = await fetch(`${srv.url}/v1/ssh/krl`, { headers: { 'if-none-match': etag } })
    expect(after.status).toBe(200)
    expect(Number(after.headers.get('x-jitssh-krl-version'))).toBeGreaterThan(version)
  })

  it('jitssh-server krl --out writes the same KRL atomically (0644, no temp file left)', async () => {
    const out = join(dir, 'out', 'revoked.krl')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(join(dir, 'out'))
    const stderr = new PassThrough()
    let said = ''
    stderr.on('data', (chunk: Buffer) => (said += chunk.toString()))
    const code = await runServerCli(['krl', '--config', srv.configPath, '--out', out], { stdout: new PassThrough(), stderr })
    expect(code, said).toBe(0)
    const revokedCount = issued.filter((c) => c.revoked).length
    expect(said).toMatch(new RegExp(`wrote .*revoked\\.krl: ${revokedCount} revoked certificates \\(krl version \\d+\\)`))
    expect(statSync(out).mode & 0o777).toBe(0o644)
    expect(readdirSync(join(dir, 'out'))).toEqual(['revoked.krl'])
    expect(readFileSync(out).subarray(0, 8).toString('latin1')).toBe('SSHKRL\n\0')
    expect(await krlVerdicts(dir, out, issued.map((c) => c.line))).toEqual(issued.map((c) => (c.revoked ? 'REVOKED' : 'ok')))
  })

  it('drops certificates once they have expired', async () => {
    clock.advance(2 * 3_600_000) // past every certificate's valid_before (1 h policy)
    const response = await fetch(`${srv.url}/v1/ssh/krl`)
    expect(response.headers.get('x-jitssh-revoked-certificates')).toBe('0')
  })
})

describe('afterwards', () => {
  it('the audit chain still verifies, in-process and with jitssh-server audit verify', async () => {
    const verification = await verifyAuditChain(srv.server.store, auditKeysOf(srv.configPath).chain)
    expect(verification.problems).toEqual([])
    expect(verification.events).toBeGreaterThan(20)
    const stdout = new PassThrough()
    let said = ''
    stdout.on('data', (chunk: Buffer) => (said += chunk.toString()))
    expect(await runServerCli(['audit', 'verify', '--config', srv.configPath], { stdout, stderr: new PassThrough() })).toBe(0)
    expect(said).toMatch(/^audit chain ok: \d+ events verified/)
  })
})
