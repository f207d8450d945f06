// Logins without a person (issue 14): a CI job or a long-running tool authenticates as a service account,
// again whenever its access token runs out, without a browser. Three ways, all at the token endpoint:
// the job's OIDC ID token (GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL, or a file a platform keeps fresh)
// exchanged by RFC 8693; or client credentials with a private_key_jwt assertion (RFC 7523) or a secret.
// What is remembered (config.json) is how to authenticate (paths, the audience), never a secret.
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { JitsshError } from '../../shared/errors.js'
import {
  ACCESS_TOKEN_TYPE, CLIENT_ASSERTION_JWT_BEARER, CLIENT_ID, ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, type ServiceTokenResponse,
} from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { HttpStatusError, requestJson, serverMessage } from '../http.js'
import { ID_TOKEN_ANSWER, SERVICE_TOKEN_ANSWER, type Discovery } from '../server-answers.js'
import { firstLine } from '../terminal-text.js'

/** How this machine authenticates to a server without a person (kept in config.json per server). */
export type AutomationLogin =
  | { method: 'github-actions'; audience: string }
  | { method: 'id-token-file'; path: string }
  | { method: 'client-key'; client_id: string; key_path: string }
  | { method: 'client-secret'; client_id: string; secret_path: string }

/** Assertions live this long: one request, with room for clock skew (the server allows at most 5 minutes). */
const ASSERTION_LIFETIME_SECONDS = 60
const MAX_SECRET_FILE_BYTES = 64 * 1024

export function describeAutomation(login: AutomationLogin): string {
  switch (login.method) {
    case 'github-actions':
      return 'GitHub Actions OIDC'
    case 'id-token-file':
      return `the ID token in ${login.path}`
    case 'client-key':
      return `client ${login.client_id} (private_key_jwt)`
    case 'client-secret':
      return `client ${login.client_id} (client secret)`
  }
}

/**
 * Authenticates once more as the service account: a fresh credential (a new ID token from the job, the
 * token file as it is now, a new single-use assertion), presented at the token endpoint. Every failure is one
 * JitsshError (ERR_NOT_LOGGED_IN) saying what could not be done.
 */
export async function authenticateAutomation(ctx: ClientContext, discovery: Discovery, login: AutomationLogin): Promise<ServiceTokenResponse> {
  const form = await credentialForm(ctx, discovery, login)
  try {
    return await requestJson(ctx, discovery.token_endpoint, { answer: SERVICE_TOKEN_ANSWER, form })
  } catch (error) {
    if (error instanceof HttpStatusError && error.status < 500 && error.status !== 429) {
      const said = serverMessage(error.body) || firstLine(error.body.error) || `HTTP ${error.status}`
      throw new JitsshError('ERR_NOT_LOGGED_IN', `the server refused it: ${said}`, { cause: error })
    }
    throw error
  }
}

async function credentialForm(ctx: ClientContext, discovery: Discovery, login: AutomationLogin): Promise<Record<string, string>> {
  switch (login.method) {
    case 'github-actions':
    case 'id-token-file': {
      const idToken = login.method === 'github-actions' ? await githubActionsIdToken(ctx, login.audience) : await readSecretFile(login.path, 'the ID token file')
      return { grant_type: TOKEN_EXCHANGE_GRANT, subject_token: idToken, subject_token_type: ID_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, client_id: CLIENT_ID }
    }
    case 'client-key': {
      const key = await readPrivateKey(login.key_path)
      const assertion = clientAssertion(key, login.client_id, discovery.token_endpoint, Math.floor(ctx.now() / 1000))
      return { grant_type: 'client_credentials', client_id: login.client_id, client_assertion_type: CLIENT_ASSERTION_JWT_BEARER, client_assertion: assertion }
    }
    case 'client-secret':
      return { grant_type: 'client_credentials', client_id: login.client_id, client_secret: await readSecretFile(login.secret_path, 'the client secret file') }
  }
}

/**
 * A new ID token from the GitHub Actions runner: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=A with
 * `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` (the job needs `permissions: id-token: write`).
 */
export async function githubActionsIdToken(ctx: ClientContext, audience: string): Promise<string> {
  const requestUrl = ctx.env.ACTIONS_ID_TOKEN_REQUEST_URL
  const requestToken = ctx.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (!requestUrl || !requestToken) {
    throw new JitsshError('ERR_NOT_LOGGED_IN', 'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: not a GitHub Actions job with an ID token', {
      hint: 'give the job `permissions: id-token: write`',
    })
  }
  let url: URL
  try {
    url = new URL(requestUrl)
  } catch {
    throw new JitsshError('ERR_NOT_LOGGED_IN', 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL')
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost'
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new JitsshError('ERR_NOT_LOGGED_IN', 'ACTIONS_ID_TOKEN_REQUEST_URL must be https://')
  url.searchParams.set('audience', audience)
  try {
    return await requestJson(ctx, url.toString(), { answer: ID_TOKEN_ANSWER, bearer: requestToken })
  } catch (error) {
    if (error instanceof HttpStatusError) throw new JitsshError('ERR_NOT_LOGGED_IN', `the GitHub Actions runner did not hand out an ID token (HTTP ${error.status})`, { cause: error })
    if (error instanceof JitsshError && error.code === 'ERR_SERVER') throw new JitsshError('ERR_NOT_LOGGED_IN', 'the GitHub Actions runner answered without an ID token', { cause: error })
    throw error
  }
}

/** An RFC 7523 client assertion: iss = sub = the client id, aud = the token endpoint, one minute, a new jti. */
export function clientAssertion(key: KeyObject, clientId: string, tokenEndpoint: string, nowSeconds: number): string {
  const { alg, sign: signWith } = signerFor(key)
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const claims = { iss: clientId, sub: clientId, aud: tokenEndpoint, iat: nowSeconds, exp: nowSeconds + ASSERTION_LIFETIME_SECONDS, jti: randomBytes(16).toString('base64url') }
  const input = `${encode({ alg, typ: 'JWT' })}.${encode(claims)}`
  return `${input}.${signWith(Buffer.from(input)).toString('base64url')}`
}

function signerFor(key: KeyObject): { alg: string; sign(data: Buffer): Buffer } {
  const type = key.asymmetricKeyType
  if (type === 'ed25519') return { alg: 'EdDSA', sign: (data) => sign(null, data, key) }
  if (type === 'ec') {
    const p384 = key.asymmetricKeyDetails?.namedCurve === 'secp384r1'
    return { alg: p384 ? 'ES384' : 'ES256', sign: (data) => sign(p384 ? 'sha384' : 'sha256', data, { key, dsaEncoding: 'ieee-p1363' }) }
  }
  if (type === 'rsa') return { alg: 'RS256', sign: (data) => sign('sha256', data, key) }
  throw new JitsshError('ERR_USAGE', `--client-key: ${type ?? 'this'} keys cannot sign a client assertion (use Ed25519, ECDSA P-256/P-384 or RSA)`)
}

async function readPrivateKey(path: string): Promise<KeyObject> {
  const pem = await readSecretFile(path, 'the client key')
  try {
    return createPrivateKey(pem)
  } catch {
    throw new JitsshError('ERR_NOT_LOGGED_IN', `${path} is not an unencrypted PEM private key`)
  }
}

async function readSecretFile(path: string, what: string): Promise<string> {
  let data: Buffer
  try {
    data = await readFile(path)
  } catch (error) {
    throw new JitsshError('ERR_NOT_LOGGED_IN', `cannot read ${what} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  if (data.length > MAX_SECRET_FILE_BYTES) throw new JitsshError('ERR_NOT_LOGGED_IN', `${what} ${path} is too large`)
  const text = data.toString('utf8').trim()
  if (text === '') throw new JitsshError('ERR_NOT_LOGGED_IN', `${what} ${path} is empty`)
  return text
}
