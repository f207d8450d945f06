// Access-token checks of jitssh-server: forged, expired, wrong-audience, wrong-issuer, alg-confused
// (HS256 keyed with the public key, `alg: none`) and wrong-typ JWTs are refused on /v1/me and on
// /v1/ssh/sign with a 401 JSON error and no certificate; a revoked session stops its tokens within 1 s.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SignJWT, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { loginWithPassword, startTestServer, testClock, type TestServer } from '../helpers/server.js'

const clock = testClock()
let srv: TestServer
let good: Awaited<ReturnType<typeof loginWithPassword>>

beforeAll(async () => {
  srv = await startTestServer({ now: clock.now })
  good = await loginWithPassword(srv.url)
})
afterAll(async () => {
  await srv?.stop()
})

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
}

function realSigningKey(): ReturnType<typeof createPrivateKey> {
  return createPrivateKey(readFileSync(join(srv.dir, 'keys', 'token_signing_key.pem')))
}

async function resign(overrides: Record<string, unknown>, header: Record<string, unknown> = {}, key = realSigningKey()): Promise<string> {
  const kid = decodeProtectedHeader(good.access_token).kid
  return new SignJWT({ ...claimsOf(good.access_token), ...overrides })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid, ...header })
    .sign(key)
}

async function attempt(token: string): Promise<{ me: number; sign: number; body: Record<string, unknown> }> {
  const before = (await srv.server.store.certificates.list({})).length
  const me = await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
  const sign = await fetch(`${srv.url}/v1/ssh/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ public_key: formatPublicKey(generateKeyPair().publicKey), hostname: 'vm.example.com' }),
  })
  const body = (await sign.json()) as Record<string, unknown>
  expect((await srv.server.store.certificates.list({})).length).toBe(before)
  expect(sign.headers.get('www-authenticate')).toMatch(/^Bearer/)
  return { me: me.status, sign: sign.status, body }
}

describe('access tokens', () => {
  it('the genuine token works (control)', async () => {
    const response = await fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${good.access_token}` } })
    expect(response.status).toBe(200)
  })

  it('refuses a request without a token', async () => {
    const response = await fetch(`${srv.url}/v1/ssh/sign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual({ error: 'ERR_NOT_LOGGED_IN', message: 'no access token in the request', hint: 'run: jitssh login' })
  })

  it('refuses a token signed by another Ed25519 key (forged)', async () => {
    const result = await attempt(await resign({}, {}, generateKeyPairSync('ed25519').privateKey))
    expect(result).toMatchObject({ me: 401, sign: 401, body: { error: 'ERR_NOT_LOGGED_IN', message: 'access token is not valid' } })
  })

  it('refuses a token with a tampered payload', async () => {
    const [header, , signature] = good.access_token.split('.')
    const tampered = `${header}.${b64({ ...claimsOf(good.access_token), groups: ['admins'] })}.${signature}`
    expect(await attempt(tampered)).toMatchObject({ me: 401, sign: 401 })
  })

  it('refuses an expired token (exp + small tolerance)', async () => {
    const token = await resign({ exp: Math.floor(clock.now() / 1000) - 10 })
    expect(await attempt(token)).toMatchObject({ me: 401, sign: 401, body: { message: 'access token has expired' } })
  })

  it('refuses the wrong audience and the wrong issuer', async () => {
    expect(await attempt(await resign({ aud: 'https://other.example.com' }))).toMatchObject({ me: 401, sign: 401 })
    expect(await attempt(await resign({ iss: 'https://other.example.com' }))).toMatchObject({ me: 401, sign: 401 })
  })

  it('refuses HS256 keyed with the public key (algorithm confusion)', async () => {
    const publicPem = createPublicKey(realSigningKey()).export({ format: 'pem', type: 'spki' }) as string
    const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: decodeProtectedHeader(good.access_token).kid })
    const payload = b64(claimsOf(good.access_token))
    for (const secret of [publicPem, Buffer.from(publicPem)]) {
      const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
      expect(await attempt(`${header}.${payload}.${signature}`)).toMatchObject({ me: 401, sign: 401 })
    }
  })

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claimsOf(good.access_token))}.`
    expect(await attempt(token)).toMatchObject({ me: 401, sign: 401 })
  })

  it('refuses a JWT of another type signed with the right key (typ is pinned to at+jwt)', async () => {
    expect(await attempt(await resign({}, { typ: 'JWT' }))).toMatchObject({ me: 401, sign: 401 })
  })

  it('refuses a token whose session id is unknown or belongs to someone else', async () => {
    expect(await attempt(await resign({ sid: 'not-a-session' }))).toMatchObject({ me: 401, sign: 401 })
    expect(await attempt(await resign({ sub: 'bob' }))).toMatchObject({ me: 401, sign: 401 })
  })

  it('stops a token within 1 s of its session being revoked, even behind the session cache', async () => {
    const tokens = await loginWithPassword(srv.url)
    const me = (): Promise<number> => fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } }).then((r) => r.status)
    expect(await me()).toBe(200) // now cached
    // Revoke behind the server's back, as another replica would.
    await srv.server.store.sessions.revoke(tokens.session_id, clock.now(), 'test')
    const started = Date.now()
    while ((await me()) === 200) {
      expect(Date.now() - started).toBeLessThan(1000)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(Date.now() - started).toBeLessThan(1000)
  })

  // Last: it moves the shared clock forward.
  it('refuses a token once it expires, although it was accepted (and remembered as verified) before', async () => {
    const token = await resign({ exp: Math.floor(clock.now() / 1000) + 20 })
    const me = (): Promise<Response> => fetch(`${srv.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
    expect((await me()).status).toBe(200)
    expect((await me()).status).toBe(200)
    clock.advance(30_000)
    const after = await me()
    expect(after.status).toBe(401)
    expect(await after.json()).toMatchObject({ message: 'access token has expired' })
  })
})
