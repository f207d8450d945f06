// POST /v1/ssh/sign of jitssh-server: a certificate per policy (principals from policy only, validity
// backdated and capped by the session, random serial, key id naming user / session / host), checked with
// our parser and with ssh-keygen -L; and every refusal (policy, hostile host names and keys, bad bodies)
// is a 4xx JSON error that issues no certificate and leaves an audit event.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ID, type SignResponse, type TokenResponse } from '../../src/shared/protocol.js'
import { parseCertificate, signCertificate } from '../../src/ssh/certificate.js'
import { keyPairSigner } from '../../src/ssh/signer.js'
import { fingerprint, formatPublicKey, generateKeyPair, parsePublicKey } from '../../src/ssh/keys.js'
import { DEFAULT_USERS, loginWithPassword, startTestServer, testClock, type TestServer } from '../helpers/server.js'

const clock = testClock()
let srv: TestServer
let alice: Awaited<ReturnType<typeof loginWithPassword>>

beforeAll(async () => {
  srv = await startTestServer({
    now: clock.now,
    users: [...DEFAULT_USERS, { username: 'carol', email: 'carol+x@example.com', groups: ['dev'] }],
    policy: [
      { name: 'ops-db', groups: ['ops'], hosts: ['db.example.com'], principals: ['postgres', '{username}'], max_ttl: '15m', extensions: ['permit-pty', 'permit-port-forwarding'], source_address: ['10.0.0.0/8'] },
      { name: 'dev', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'], max_ttl: '1h' },
    ],
    config: { certificates: { source_address: ['192.0.2.1/32'] } },
  })
  alice = await loginWithPassword(srv.url)
})
afterAll(async () => {
  await srv?.stop()
})

async function sign(body: unknown, accessToken = alice.access_token, raw?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${srv.url}/v1/ssh/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: raw ?? JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const newKeyLine = (type: 'ssh-ed25519' | 'ecdsa-sha2-nistp256' = 'ssh-ed25519'): string => formatPublicKey(generateKeyPair(type).publicKey, 'me@laptop')

function sshString(data: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data)
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}

function mpint(data: Buffer): Buffer {
  return sshString(data[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), data]) : data)
}

function rsaKeyLine(bits: number): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits })
  const jwk = publicKey.export({ format: 'jwk' })
  const blob = Buffer.concat([sshString('ssh-rsa'), mpint(Buffer.from(jwk.e!, 'base64url')), mpint(Buffer.from(jwk.n!, 'base64url'))])
  return `ssh-rsa ${blob.toString('base64')} rsa@laptop`
}

function fakeKeyLine(type: string, parts: number): string {
  const blob = Buffer.concat([sshString(type), ...Array.from({ length: parts }, () => mpint(randomBytes(64)))])
  return `${type} ${blob.toString('base64')}`
}

async function certificateLine(): Promise<string> {
  const ca = generateKeyPair()
  const now = BigInt(Math.floor(Date.now() / 1000))
  return (await signCertificate(
    { type: 'user', publicKey: generateKeyPair().publicKey, serial: 1n, keyId: 'x', principals: ['alice'], validAfter: now, validBefore: now + 60n, criticalOptions: {}, extensions: [] },
    keyPairSigner(ca),
  )).line
}

describe('POST /v1/ssh/sign', () => {
  it('signs a certificate for the policy principals, backdated 60 s, for the rule TTL, recorded and audited', async () => {
    const keyLine = newKeyLine()
    const result = await sign({ public_key: keyLine, hostname: 'VM.Example.com' })
    expect(result.status).toBe(200)
    const response = result.body as unknown as SignResponse
    const certificate = parseCertificate(response.certificate)
    const nowSeconds = BigInt(Math.floor(clock.now() / 1000))
    expect(certificate.type).toBe('user')
    expect(certificate.principals).toEqual(['alice'])
    expect(response.principals).toEqual(['alice'])
    expect(certificate.validAfter).toBe(nowSeconds - 60n)
    expect(certificate.validBefore).toBe(nowSeconds + 3600n)
    expect(certificate.extensions).toEqual(['permit-pty'])
    expect(certificate.criticalOptions).toEqual({ 'source-address': '192.0.2.1/32' })
    expect(certificate.publicKey.blob.equals(parsePublicKey(keyLine).blob)).toBe(true)
    const discovery = (await (await fetch(`${srv.url}/.well-known/jitssh`)).json()) as { jitssh: { user_ca_public_key: string } }
    expect(formatPublicKey(certificate.signatureKey, 'jitssh-user-ca')).toBe(discovery.jitssh.user_ca_public_key)
    expect(certificate.keyId).toBe(`jitssh:alice@example.com:sid=${alice.session_id}:host=vm.example.com:serial=${certificate.serial}`)
    expect(response.serial).toBe(certificate.serial.toString())
    expect(response.key_id).toBe(certificate.keyId)
    expect(new Date(response.valid_before).getTime() / 1000).toBe(Number(nowSeconds) + 3600)

    const [row] = await srv.server.store.certificates.list({ sessionId: alice.session_id })
    expect(row).toMatchObject({ serial: response.serial, host: 'vm.example.com', userEmail: 'alice@example.com', fingerprint: fingerprint(certificate.publicKey) })
    const events = await srv.server.store.audit.read(0, 10_000)
    expect(events.find((event) => event.type === 'cert.sign' && event.detail.serial === response.serial)).toMatchObject({ outcome: 'ok', user: 'alice@example.com', host: 'vm.example.com' })

    // ssh-keygen agrees.
    const dir = mkdtempSync(join(tmpdir(), 'jitssh-sign-'))
    writeFileSync(join(dir, 'cert.pub'), `${response.certificate}\n`)
    const listing = execFileSync('ssh-keygen', ['-L', '-f', join(dir, 'cert.pub')], { encoding: 'utf8' })
    expect(listing).toContain('Type: ssh-ed25519-cert-v01@openssh.com user certificate')
    expect(listing).toContain(`Key ID: "${certificate.keyId}"`)
    expect(listing).toMatch(/Principals: \n\s+alice\n/)
    expect(listing).toMatch(/source-address 192\.0\.2\.1\/32/)
    rmSync(dir, { recursive: true, force: true })
  })

  it('uses random serials and accepts ECDSA P-256 keys', async () => {
    const first = await sign({ public_key: newKeyLine('ecdsa-sha2-nistp256'), hostname: 'vm.example.com' })
    const second = await sign({ public_key: newKeyLine(), hostname: 'vm.example.com' })
    expect(first.status).toBe(200)
    expect(first.body.serial).not.toBe(second.body.serial)
  })

  it('grants named accounts, extensions, TTL and source-address from the matching rule', async () => {
    const bob = await loginWithPassword(srv.url, 'bob')
    const result = await sign({ public_key: newKeyLine(), hostname: 'db.example.com' }, bob.access_token)
    expect(result.status).toBe(200)
    const certificate = parseCertificate(String(result.body.certificate))
    expect(certificate.principals).toEqual(['postgres', 'bob'])
    expect(certificate.extensions).toEqual(['permit-port-forwarding', 'permit-pty'])
    expect(certificate.criticalOptions).toEqual({ 'source-address': '10.0.0.0/8' })
    expect(certificate.validBefore - certificate.validAfter).toBe(15n * 60n + 60n)
  })

  it('never lets a certificate outlive the session', async () => {
    const tokens = await loginWithPassword(srv.url)
    clock.advance(11 * 3_600_000 + 30 * 60_000)
    const refreshed = await fetch(`${srv.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: CLIENT_ID }),
    })
    const fresh = (await refreshed.json()) as TokenResponse
    const result = await sign({ public_key: newKeyLine(), hostname: 'vm.example.com' }, fresh.access_token)
    expect(result.status).toBe(200)
    const validBefore = new Date(String(result.body.valid_before)).getTime()
    expect(validBefore).toBe(Math.floor(new Date(tokens.session_expires_at).getTime() / 1000) * 1000)
    expect(validBefore - clock.now()).toBeLessThanOrEqual(30 * 60_000)
  })
})

describe('POST /v1/ssh/sign refusals issue no certificate', () => {
  beforeAll(async () => {
    alice = await loginWithPassword(srv.url)
  })

  async function refused(body: unknown, status: number, error: string, message?: RegExp, raw?: string, token?: string): Promise<void> {
    const before = (await srv.server.store.certificates.list({})).length
    const auditBefore = (await srv.server.store.audit.read(0, 100_000)).length
    const result = await sign(body, token, raw)
    expect(result.status).toBe(status)
    expect(result.body.error).toBe(error)
    expect(typeof result.body.message).toBe('string')
    if (message) expect(String(result.body.message)).toMatch(message)
    expect((await srv.server.store.certificates.list({})).length).toBe(before)
    // Bodies the HTTP layer cannot parse never reach the handler (nothing to audit); everything else is audited.
    if (raw === undefined || raw === '[1,2]') {
      const events = await srv.server.store.audit.read(auditBefore, 100)
      expect(events.some((event) => event.type === 'access.denied' && event.outcome === 'denied')).toBe(true)
    }
  }

  it('denies a host no rule grants, naming the person and the host', async () => {
    await refused({ public_key: newKeyLine(), hostname: 'db.internal' }, 403, 'ERR_POLICY_DENIED', /^no policy rule grants alice@example\.com access to db\.internal$/)
  })

  it('denies another group the host', async () => {
    const bob = await loginWithPassword(srv.url, 'bob')
    await refused({ public_key: newKeyLine(), hostname: 'vm.example.com' }, 403, 'ERR_POLICY_DENIED', /bob@example\.com access to vm\.example\.com/, undefined, bob.access_token)
  })

  it('denies when the principal template yields no valid unix account (never an empty principal list)', async () => {
    const carol = await loginWithPassword(srv.url, 'carol')
    await refused({ public_key: newKeyLine(), hostname: 'vm.example.com' }, 403, 'ERR_POLICY_DENIED', /policy rule "dev" yields no valid unix account/, undefined, carol.access_token)
  })

  it.each([
    ['a newline', 'vm.example.com\n  ProxyCommand evil'],
    ['a path', '../../etc/passwd'],
    ['a space', 'vm example.com'],
    ['a pattern', '*.example.com'],
    ['a port', 'vm.example.com:22'],
    ['a % token', 'vm%h.example.com'],
    ['an option', '-oProxyCommand=evil'],
    ['an empty name', ''],
    ['a huge name', `${'a'.repeat(60)}.`.repeat(6) + 'com'],
    ['unicode', 'vm.exаmple.com'],
    ['a number', 12],
  ])('refuses a host name with %s', async (_name, hostname) => {
    await refused({ public_key: newKeyLine(), hostname }, 400, 'ERR_INVALID_HOSTNAME')
  })

  it.each([
    ['RSA (not signed by default)', () => rsaKeyLine(2048)],
    ['short RSA', () => rsaKeyLine(1024)],
    ['DSA', () => fakeKeyLine('ssh-dss', 4)],
    ['ECDSA P-384', () => fakeKeyLine('ecdsa-sha2-nistp384', 2)],
    ['a certificate offered as a key', certificateLine],
    ['garbage', () => 'ssh-ed25519 not-base64!!'],
    ['a truncated key', () => newKeyLine().slice(0, 40)],
    ['two keys', () => `${newKeyLine()}\n${newKeyLine()}`],
    ['an empty string', () => ''],
    ['a private key', () => '-----BEGIN OPENSSH PRIVATE KEY-----'],
  ])('refuses %s as the public key', async (_name, makeKey) => {
    await refused({ public_key: await makeKey(), hostname: 'vm.example.com' }, 400, 'ERR_INVALID_KEY')
  })

  it('refuses bodies that are not a JSON object, and oversized ones', async () => {
    await refused(null, 400, 'ERR_BAD_REQUEST', undefined, '[1,2]')
    await refused(null, 400, 'ERR_BAD_REQUEST', undefined, '{"public_key":')
    await refused(null, 413, 'ERR_BAD_REQUEST', /larger than 16384 bytes/, JSON.stringify({ public_key: 'x'.repeat(20_000), hostname: 'vm.example.com' }))
    const form = await fetch(`${srv.url}/v1/ssh/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'application/xml' },
      body: '<a/>',
    })
    expect(form.status).toBe(415)
    expect(await form.json()).toMatchObject({ error: 'ERR_BAD_REQUEST' })
  })
})

describe('POST /v1/ssh/sign with a CA signer that fails (a KMS or HSM that is down)', () => {
  let failing: TestServer
  let working = true
  beforeAll(async () => {
    failing = await startTestServer({
      userCaSigner: (keys) => ({
        publicKey: keys.userCa.publicKey,
        sign: async (data) => (working ? keys.userCa.sign(data) : Promise.reject(new Error('KMS unavailable'))),
      }),
    })
  })
  afterAll(async () => failing?.stop())

  it('issues nothing, answers 500 with no internal detail, audits the failure, and signs again once the signer is back', async () => {
    const tokens = await loginWithPassword(failing.url)
    const request = (): Promise<Response> => fetch(`${failing.url}/v1/ssh/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: newKeyLine(), hostname: 'vm.example.com' }),
    })
    working = false
    const refused = await request()
    expect(refused.status).toBe(500)
    const body = (await refused.json()) as { error: string; message: string }
    expect(body).toEqual({ error: 'ERR_SERVER', message: 'the certificate authority could not sign; try again shortly' })
    expect(await failing.server.store.certificates.list({ sessionId: tokens.session_id })).toEqual([])
    const events = await failing.server.store.audit.read(0, 1000)
    expect(events.filter((event) => event.type === 'cert.sign').map((event) => event.outcome)).toEqual(['error'])

    working = true
    const signed = await request()
    expect(signed.status).toBe(200)
    expect(await failing.server.store.certificates.list({ sessionId: tokens.session_id })).toHaveLength(1)
  })
})
