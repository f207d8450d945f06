/**
 * A CI provider's OIDC issuer on 127.0.0.1:0, shaped like GitHub Actions: a discovery document, a JWKS of
 * RS256 keys (by kid), ID tokens with GitHub's claims signed by jose, and an endpoint that mimics the job's
 * `ACTIONS_ID_TOKEN_REQUEST_URL` (GET with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` and
 * `&audience=A` → `{"value": "<jwt>"}`).
 *
 *   const gha = await startWorkloadIssuer()
 *   const token = await gha.mint({ aud: 'https://access.example.com', repository_id: '1' })
 *   env: { ACTIONS_ID_TOKEN_REQUEST_URL: gha.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: gha.requestToken }
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { exportJWK, SignJWT, type JWK } from 'jose'

/** A job of octo-org/deploy on main, environment production, as GitHub Actions describes it. */
export const GITHUB_CLAIMS = {
  repository: 'octo-org/deploy',
  repository_id: '123456789',
  repository_owner: 'octo-org',
  repository_owner_id: '987654',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  environment: 'production',
  event_name: 'push',
  job_workflow_ref: 'octo-org/deploy/.github/workflows/deploy.yml@refs/heads/main',
  workflow: 'deploy',
  sub: 'repo:octo-org/deploy:environment:production',
  actor: 'octocat',
  actor_id: '583231',
  run_id: '4242',
  run_attempt: '1',
}

export interface MintOptions {
  /** Sign with this key of the issuer (default: the current one). */
  kid?: string
  /** Sign with a key the issuer never published, under `kid` (a forgery). */
  forge?: boolean
  alg?: string
  /** Seconds relative to `now()`: iat offset and lifetime (default 0 and 300). */
  iatOffset?: number
  lifetime?: number
  /** Leave out nbf (only iat then says when the token began). */
  noNbf?: boolean
}

export interface WorkloadIssuer {
  /** The issuer (`iss`), e.g. http://127.0.0.1:PORT */
  url: string
  /** For ACTIONS_ID_TOKEN_REQUEST_URL (already has a query, as GitHub's has). */
  requestUrl: string
  requestToken: string
  /** How often the JWKS was fetched. */
  jwksFetches(): number
  /** How often the token request endpoint answered. */
  tokenRequests(): number
  /** Claims the request endpoint puts into the tokens it hands out (merged over GITHUB_CLAIMS). */
  setJobClaims(claims: Record<string, unknown>): void
  /** An ID token: GITHUB_CLAIMS, a new jti, `claims` over them (`aud` required). */
  mint(claims: Record<string, unknown> & { aud: string | string[] }, options?: MintOptions): Promise<string>
  /** Publishes a new key and signs with it from now on; returns its kid. */
  rotate(): Promise<string>
  stop(): Promise<void>
}

interface SigningKey {
  kid: string
  privateKey: KeyObject
  jwk: JWK
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const kid = randomBytes(8).toString('hex')
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

export async function startWorkloadIssuer(options: { now?: () => number } = {}): Promise<WorkloadIssuer> {
  const now = options.now ?? Date.now
  const keys: SigningKey[] = [await newKey()]
  const requestToken = randomBytes(24).toString('base64url')
  let jobClaims: Record<string, unknown> = {}
  let jwksFetches = 0
  let tokenRequests = 0
  let url = ''

  const mint = async (claims: Record<string, unknown> & { aud: string | string[] }, mintOptions: MintOptions = {}): Promise<string> => {
    const key = mintOptions.forge ? await newKey() : (keys.find((k) => k.kid === (mintOptions.kid ?? keys.at(-1)!.kid)) ?? keys.at(-1)!)
    const iat = Math.floor(now() / 1000) + (mintOptions.iatOffset ?? 0)
    const { aud, ...rest } = claims
    const jwt = new SignJWT({ ...GITHUB_CLAIMS, ...rest })
      .setProtectedHeader({ alg: mintOptions.alg ?? 'RS256', typ: 'JWT', kid: mintOptions.kid ?? key.kid })
      .setIssuer(url)
      .setAudience(aud)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (mintOptions.lifetime ?? 300))
      .setJti(randomBytes(12).toString('hex'))
    if (mintOptions.noNbf !== true) jwt.setNotBefore(iat)
    return jwt.sign(key.privateKey)
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', url)
    const json = (status: number, body: unknown): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (path.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer: url, jwks_uri: `${url}/.well-known/jwks`, id_token_signing_alg_values_supported: ['RS256'], response_types_supported: ['id_token'], subject_types_supported: ['public'] })
    }
    if (path.pathname === '/.well-known/jwks') {
      jwksFetches++
      return json(200, { keys: keys.map((key) => key.jwk) })
    }
    if (path.pathname === '/_apis/token') {
      if (request.headers.authorization !== `Bearer ${requestToken}`) return json(401, { message: 'bad request token' })
      tokenRequests++
      const audience = path.searchParams.get('audience') ?? 'https://github.com/octo-org'
      void mint({ ...jobClaims, aud: audience }).then((value) => json(200, { count: 1, value }), (error: Error) => json(500, { message: error.message }))
      return
    }
    json(404, { message: 'not found' })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`

  return {
    url,
    requestUrl: `${url}/_apis/token?api-version=2.0`,
    requestToken,
    jwksFetches: () => jwksFetches,
    tokenRequests: () => tokenRequests,
    setJobClaims: (claims) => void (jobClaims = claims),
    mint,
    async rotate() {
      const key = await newKey()
      keys.push(key)
      return key.kid
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
