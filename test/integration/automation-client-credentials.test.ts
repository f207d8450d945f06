// Automation identities (issue 14) for CI systems without OIDC: the client-credentials grant of a real
// jitssh-server, with private_key_jwt (RFC 7523 client assertions, each used once) or a client secret (kept
// as a scrypt hash in the config). A short access token, never a refresh token; every refusal has its reason.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_ASSERTION_JWT_BEARER } from '../../src/shared/protocol.js'
import { hashPassword } from '../../src/server/identity/password-hash.js'
import { signFor } from '../helpers/admin.js'
import { startTestServer, testClock, type TestServer } from '../helpers/server.js'

const clock = testClock()
const SECRET = randomBytes(24).toString('base64url')
let srv: TestServer
let key: KeyObject

beforeAll(async () => {
  const pair = generateKeyPairSync('ed25519')
  key = pair.privateKey
  srv = await startTestServer({
    now: clock.now,
    policy: [{ name: 'jenkins', service_accounts: ['jenkins-bot'], hosts: ['*.example.com'], principals: ['deploy'], max_ttl: '10m' }],
    config: {
      service_accounts: [{
        name: 'jenkins-bot', owner: 'ci-team@example.com', hosts: ['build.example.com'], principals: ['deploy'], max_ttl: '2m',
        clients: [
          { id: 'jenkins-key', public_key: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
          { id: 'jenkins-secret', secret_hash: await hashPassword(SECRET, { N: 1024, r: 8, p: 1 }) },
        ],
      }],
    },
  })
})
afterAll(async () => srv?.stop())

interface Answer {
  status: number
  body: { access_token?: string; refresh_token?: string; error?: string; error_description?: string }
}

async function token(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${srv.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...form }),
  })
  return { status: response.status, body: (await response.json()) as Answer['body'] }
}

async function assertion(claims: { iss?: string; sub?: string; aud?: string; lifetime?: number; jti?: string; noIat?: boolean; iatOffset?: number } = {}, signer: KeyObject = key): Promise<string> {
  const iat = Math.floor(clock.now() / 1000) + (claims.iatOffset ?? 0)
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA' })
    .setIssuer(claims.iss ?? 'jenkins-key')
    .setSubject(claims.sub ?? claims.iss ?? 'jenkins-key')
    .setAudience(claims.aud ?? `${srv.url}/token`)
    .setExpirationTime(iat + (claims.lifetime ?? 60))
    .setJti(claims.jti ?? randomBytes(12).toString('hex'))
  if (claims.noIat !== true) jwt.setIssuedAt(iat)
  return jwt.sign(signer)
}

const withAssertion = (jwt: string): Record<string, string> => ({ client_assertion_type: CLIENT_ASSERTION_JWT_BEARER, client_assertion: jwt })

async function reasonOf(answer: Answer): Promise<string | undefined> {
  const events = await srv.server.store.audit.read(0, 100_000)
  expect(answer.body.access_token).toBeUndefined()
  const reason = events.filter((event) => event.type === 'client_credentials.refused').at(-1)?.detail.reason as string | undefined
  expect(answer.body.error_description).toContain(`(${reason})`)
  return reason
}

describe('client credentials for a service account', () => {
  it('private_key_jwt: a short access token of the account (no refresh token), certificates within its scope', async () => {
    const answer = await token(withAssertion(await assertion()))
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(answer.body.refresh_token).toBeUndefined()
    const signed = await signFor(srv.url, answer.body.access_token!, 'build.example.com')
    expect(signed.status, JSON.stringify(signed.body)).toBe(200)
    expect(signed.body.principals).toEqual(['deploy'])
    expect((Date.parse(signed.body.valid_before) - clock.now()) / 1000).toBeLessThanOrEqual(120)
    const issued = (await srv.server.store.audit.read(0, 100_000)).filter((event) => event.type === 'token.issue').at(-1)
    expect(issued).toMatchObject({ user: 'service:jenkins-bot', detail: { grant: 'client_credentials', client_id: 'jenkins-key', auth_method: 'private_key_jwt' } })
  })

  it('an assertion authenticates once: replayed', async () => {
    const jwt = await assertion()
    expect((await token(withAssertion(jwt))).status).toBe(200)
    const again = await token(withAssertion(jwt))
    expect(again.status).toBe(401)
    expect(await reasonOf(again)).toBe('replayed')
  })

  it('refuses an assertion for another audience, one that lives too long, one signed by another key, and an unknown client', async () => {
    const cases: Array<[Promise<string>, string]> = [
      [assertion({ aud: 'https://elsewhere.example.com/token' }), 'audience'],
      [assertion({ lifetime: 3600 }), 'lifetime'],
      [assertion({ lifetime: 3600, noIat: true }), 'lifetime'],
      [assertion({ lifetime: 3200, iatOffset: -3000 }), 'lifetime'],
      [assertion({}, generateKeyPairSync('ed25519').privateKey), 'bad_assertion'],
      [assertion({ iss: 'jenkins-key', sub: 'someone-else' }), 'bad_assertion'],
      [assertion({ iss: 'nobody' }), 'unknown_client'],
      [assertion({ iss: 'jenkins-secret' }), 'wrong_method'],
    ]
    for (const [jwt, reason] of cases) {
      const answer = await token(withAssertion(await jwt))
      expect(answer.status).toBe(401)
      expect(await reasonOf(answer), reason).toBe(reason)
    }
  })

  it('refuses an expired assertion: expired', async () => {
    const jwt = await assertion({ lifetime: 60 })
    clock.advance(120_000)
    const answer = await token(withAssertion(jwt))
    expect(await reasonOf(answer)).toBe('expired')
  })

  it('a client secret (HTTP Basic or in the body) against its hash; a wrong one is bad_secret', async () => {
    const basic = `Basic ${Buffer.from(`jenkins-secret:${encodeURIComponent(SECRET)}`).toString('base64')}`
    const viaBasic = await token({}, { authorization: basic })
    expect(viaBasic.status, JSON.stringify(viaBasic.body)).toBe(200)
    expect(viaBasic.body.refresh_token).toBeUndefined()
    expect((await token({ client_id: 'jenkins-secret', client_secret: SECRET })).status).toBe(200)
    const wrong = await token({ client_id: 'jenkins-secret', client_secret: `${SECRET}x` })
    expect(wrong.status).toBe(401)
    expect(await reasonOf(wrong)).toBe('bad_secret')
    // Two ways at once is a malformed request.
    expect((await token({ client_id: 'jenkins-secret', client_secret: SECRET }, { authorization: basic })).body.error).toBe('invalid_request')
  })
})
