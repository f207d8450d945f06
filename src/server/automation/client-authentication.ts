import { createPublicKey, type KeyObject } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { CLIENT_ASSERTION_JWT_BEARER } from '../../shared/protocol.js'
import type { ServerConfig, ServiceAccount, ServiceClient } from '../config/types.js'
import { OAuthError } from '../http/errors.js'
import { verifyPassword } from '../identity/password-hash.js'
import { AutomationRefusal } from './refusal.js'

/** Clock skew allowed on a client assertion's exp, nbf and iat. */
export const ASSERTION_SKEW_SECONDS = 30
/** RFC 7523 assertions are for one request: they may be valid for at most this long. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300
const MAX_ASSERTION_LENGTH = 8 * 1024

export interface AuthenticatedClient {
  account: ServiceAccount
  client: ServiceClient
  method: 'private_key_jwt' | 'client_secret_basic' | 'client_secret_post'
  /** private_key_jwt: the assertion's jti and exp (Unix seconds), for the caller to use once. */
  assertion?: { jti: string; exp: number }
}

/** Where a client's assertion must be addressed (RFC 7523 §3: the token endpoint; the issuer is accepted too). */
export interface AssertionAudience {
  tokenEndpoint: string
  issuer: string
}

/**
 * Authenticates a client of the client-credentials grant by exactly one method: `private_key_jwt` (RFC 7523:
 * iss = sub = client_id, aud = the token endpoint or the issuer, a short exp, a jti, signed by the client's
 * configured key) or a secret (HTTP Basic, or client_secret in the body) checked against its scrypt hash.
 * A malformed request is an OAuthError `invalid_request`; a client that does not authenticate, an
 * AutomationRefusal. The assertion's single use is the caller's (it needs the store).
 */
export async function authenticateClient(
  params: Record<string, string | undefined>,
  authorization: string | undefined,
  config: Pick<ServerConfig, 'serviceAccounts'>,
  audience: AssertionAudience,
  nowMs: number,
): Promise<AuthenticatedClient> {
  const basic = parseBasic(authorization)
  const methods = [params.client_assertion !== undefined, params.client_secret !== undefined, basic !== undefined].filter(Boolean).length
  if (methods !== 1) throw new OAuthError('invalid_request', 'authenticate the client with exactly one of client_assertion (private_key_jwt), HTTP Basic or client_secret', 400)
  if (params.client_assertion !== undefined) return verifyAssertion(params, config, audience, nowMs)
  const id = basic?.id ?? params.client_id
  const secret = basic?.secret ?? params.client_secret ?? ''
  if (id === undefined || id === '') throw new OAuthError('invalid_request', 'client_id is required with client_secret', 400)
  if (basic && params.client_id !== undefined && params.client_id !== basic.id) throw new OAuthError('invalid_request', 'client_id differs from the HTTP Basic user', 400)
  const found = findClient(config, id)
  if (!found) throw new AutomationRefusal('unknown_client', 'unknown client', { client: id.slice(0, 128) })
  const about = { client: found.client.id, account: found.account.name }
  if (found.client.method !== 'client_secret') throw new AutomationRefusal('wrong_method', 'this client authenticates with private_key_jwt, not a secret', about)
  if (secret.length > 1024 || !(await verifyPassword(secret, found.client.secretHash))) throw new AutomationRefusal('bad_secret', 'the client secret is wrong', about)
  return { ...found, method: basic ? 'client_secret_basic' : 'client_secret_post' }
}

async function verifyAssertion(params: Record<string, string | undefined>, config: Pick<ServerConfig, 'serviceAccounts'>, audience: AssertionAudience, nowMs: number): Promise<AuthenticatedClient> {
  if (params.client_assertion_type !== CLIENT_ASSERTION_JWT_BEARER) throw new OAuthError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_JWT_BEARER}`, 400)
  const assertion = params.client_assertion ?? ''
  let unverified: JWTPayload
  let alg: string
  try {
    if (assertion.length > MAX_ASSERTION_LENGTH) throw new Error('too long')
    alg = String(decodeProtectedHeader(assertion).alg ?? '')
    unverified = decodeJwt(assertion)
  } catch {
    throw new AutomationRefusal('bad_assertion', 'the client assertion is not a signed JWT')
  }
  const id = typeof unverified.iss === 'string' ? unverified.iss : ''
  if (id === '' || unverified.sub !== id || (params.client_id !== undefined && params.client_id !== id)) {
    throw new AutomationRefusal('bad_assertion', 'the client assertion\'s iss and sub must both be the client_id', { client: id.slice(0, 128) })
  }
  const found = findClient(config, id)
  if (!found) throw new AutomationRefusal('unknown_client', 'unknown client', { client: id.slice(0, 128) })
  const about = { client: found.client.id, account: found.account.name }
  if (found.client.method !== 'private_key_jwt') throw new AutomationRefusal('wrong_method', 'this client authenticates with a secret, not private_key_jwt', about)
  const key = createPublicKey(found.client.publicKey)
  if (!algorithmsFor(key).includes(alg)) throw new AutomationRefusal('bad_assertion', `the client's key does not sign "${alg.slice(0, 20)}"`, about)
  let payload: JWTPayload
  try {
    payload = (await jwtVerify(assertion, key, {
      algorithms: [alg], issuer: id, subject: id, clockTolerance: ASSERTION_SKEW_SECONDS, currentDate: new Date(nowMs), requiredClaims: ['exp', 'jti', 'aud'],
    })).payload
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new AutomationRefusal('expired', 'the client assertion has expired', about)
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw new AutomationRefusal('bad_assertion', 'the client assertion\'s signature does not verify', about)
    throw new AutomationRefusal('bad_assertion', 'the client assertion is not valid', about)
  }
  const audiences = typeof payload.aud === 'string' ? [payload.aud] : payload.aud ?? []
  if (!audiences.includes(audience.tokenEndpoint) && !audiences.includes(audience.issuer)) throw new AutomationRefusal('audience', 'the client assertion is for another audience (use the token endpoint URL)', about)
  const now = Math.floor(nowMs / 1000)
  const exp = payload.exp!
  if (exp - now > MAX_ASSERTION_LIFETIME_SECONDS + ASSERTION_SKEW_SECONDS || (payload.iat !== undefined && exp - payload.iat > MAX_ASSERTION_LIFETIME_SECONDS)) {
    throw new AutomationRefusal('lifetime', `the client assertion may be valid for at most ${MAX_ASSERTION_LIFETIME_SECONDS} seconds`, about)
  }
  if ((payload.nbf ?? 0) > now + ASSERTION_SKEW_SECONDS || (payload.iat ?? 0) > now + ASSERTION_SKEW_SECONDS) throw new AutomationRefusal('bad_assertion', 'the client assertion is not valid yet (check the clocks)', about)
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw new AutomationRefusal('bad_assertion', 'the client assertion has no usable jti', about)
  return { ...found, method: 'private_key_jwt', assertion: { jti: payload.jti, exp } }
}

/** The JWS algorithms a configured client key may sign with. */
function algorithmsFor(key: KeyObject): string[] {
  if (key.asymmetricKeyType === 'ed25519') return ['EdDSA']
  if (key.asymmetricKeyType === 'ec') return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? ['ES384'] : ['ES256']
  return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
}

function findClient(config: Pick<ServerConfig, 'serviceAccounts'>, id: string): { account: ServiceAccount; client: ServiceClient } | undefined {
  for (const account of config.serviceAccounts) {
    const client = account.clients.find((entry) => entry.id === id)
    if (client) return { account, client }
  }
  return undefined
}

/** RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`. */
function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header)
  if (!match) return undefined
  const text = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon < 0) return undefined
  try {
    return { id: decodeURIComponent(text.slice(0, colon).replace(/\+/g, ' ')), secret: decodeURIComponent(text.slice(colon + 1).replace(/\+/g, ' ')) }
  } catch {
    return undefined
  }
}
