/**
 * A real OpenID provider (panva/oidc-provider) on 127.0.0.1:0, for testing jitssh-server's `oidc` identity
 * mode. Its login "interaction" signs in whichever account the test chose with `signInAs` (no form), and
 * consent is granted at once, so a fetch-based browser can walk the whole redirect chain.
 *
 *   const idp = await startOidcProvider({ accounts: { alice: { email: 'alice@example.com', groups: ['dev'] } } })
 *   const srv = await startTestServer({ oidc: { issuer: idp.issuer, client_id: 'jitssh', client_secret: 's', allow_insecure_issuer: true } })
 *   idp.registerClient({ client_id: 'jitssh', client_secret: 's', redirect_uris: [`${srv.url}/oidc/callback`] })
 *
 * The issuer URL is known before the client is registered, because jitssh-server discovers the provider
 * lazily (at the first login) and the redirect URI is known only once the server listens.
 */
import { generateKeyPairSync } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { CLIENT_ID, type TokenResponse } from '../../src/shared/protocol.js'
import { pkcePair, TestBrowser } from './server.js'

export interface OidcAccount {
  email: string
  email_verified?: boolean
  groups?: string[]
  preferred_username?: string
  name?: string
}

export interface OidcClient {
  client_id: string
  client_secret: string
  redirect_uris: string[]
}

export interface RunningOidcProvider {
  issuer: string
  /** Creates the provider with this client (call again to replace it). */
  registerClient(client: OidcClient): Promise<void>
  /** The account the next login interaction signs in. */
  signInAs(accountId: string): void
  /** Changes an account's claims (groups, email...), or removes it (undefined): refreshes then fail with invalid_grant. */
  setAccount(accountId: string, account: OidcAccount | undefined): void
  stop(): Promise<void>
}

/** The slice of oidc-provider's API used here (the package ships no types). */
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ prompt: { name: string; details: Record<string, unknown> }; params: Record<string, unknown>; session?: { accountId: string } }>
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>
  Grant: new (options: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; addOIDCClaims(claims: string[]): void; save(): Promise<string> }
}

// A variable specifier keeps TypeScript from looking for type declarations the package does not have.
const OIDC_PROVIDER_MODULE = 'oidc-provider'

/**
 * `refreshTokens`: issue refresh tokens (jitssh-server then re-checks people at the provider with them);
 * off, the provider issues none, as many do without `offline_access`.
 */
export async function startOidcProvider(options: { accounts: Record<string, OidcAccount>; refreshTokens?: boolean }): Promise<RunningOidcProvider> {
  const { default: Provider } = (await import(OIDC_PROVIDER_MODULE)) as { default: new (issuer: string, config: Record<string, unknown>) => ProviderInstance }
  let provider: ProviderInstance | undefined
  let nextAccount = Object.keys(options.accounts)[0]!
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })

  async function interaction(req: IncomingMessage, res: ServerResponse, active: ProviderInstance): Promise<void> {
    const details = await active.interactionDetails(req, res)
    if (details.prompt.name === 'login') {
      await active.interactionFinished(req, res, { login: { accountId: nextAccount } }, { mergeWithLastSubmission: false })
      return
    }
    const grant = new active.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) })
    grant.addOIDCScope(String(details.params.scope))
    const grantId = await grant.save()
    await active.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
  }

  const http = createServer((req, res) => {
    const active = provider
    if (!active) {
      res.writeHead(503).end('no client registered yet')
      return
    }
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res, active).catch((error: unknown) => {
        res.writeHead(500).end(String(error))
      })
      return
    }
    active.callback()(req, res)
  })
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  const issuer = `http://127.0.0.1:${(http.address() as { port: number }).port}`

  return {
    issuer,
    async registerClient(client) {
      provider = new Provider(issuer, {
        clients: [{ ...client, grant_types: options.refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
        issueRefreshToken: async () => options.refreshTokens === true,
        findAccount: async (_ctx: unknown, id: string) => {
          const account = options.accounts[id]
          if (!account) return undefined
          return { accountId: id, claims: async () => ({ sub: id, email_verified: true, ...options.accounts[id] }) }
        },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'], groups: ['groups'] },
        scopes: ['openid', 'email', 'profile', 'groups'],
        pkce: { required: () => true },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx: unknown, interactionRecord: { uid: string }) => `/interaction/${interactionRecord.uid}` },
        cookies: { keys: ['jitssh-test-cookie-key-0123456789'] },
        jwks: { keys: [{ ...signingKey, kid: 'test-rs256', use: 'sig', alg: 'RS256' }] },
      })
    },
    signInAs(accountId) {
      nextAccount = accountId
    },
    setAccount(accountId, account) {
      if (account === undefined) delete options.accounts[accountId]
      else options.accounts[accountId] = account
    },
    async stop() {
      http.closeAllConnections()
      http.close()
      await once(http, 'close')
    },
  }
}

/** A browser's and the CLI's login through the provider: the browser (with its cookies) and the CLI's tokens. */
export interface OidcLogin {
  browser: TestBrowser
  /** The last response before leaving the server's and the provider's origins (the loopback redirect, or an error page). */
  response: Response
  tokens?: TokenResponse & { session_id: string }
}

/** Runs /authorize through the provider as `account` and, when a code comes back, exchanges it. */
export async function oidcLogin(serverUrl: string, idp: RunningOidcProvider, account: string): Promise<OidcLogin> {
  idp.signInAs(account)
  const browser = new TestBrowser()
  const { verifier, challenge } = pkcePair()
  const redirectUri = 'http://127.0.0.1:40123/callback'
  const query = new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', state: 's1' })
  const { response } = await browser.follow(`${serverUrl}/authorize?${query}`, [new URL(serverUrl).origin, idp.issuer])
  const location = response.headers.get('location')
  const code = location?.startsWith(redirectUri) ? new URL(location).searchParams.get('code') : null
  if (!code) return { browser, response }
  const exchanged = await fetch(`${serverUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: CLIENT_ID }),
  })
  if (exchanged.status !== 200) throw new Error(`token endpoint: ${exchanged.status} ${await exchanged.text()}`)
  const tokens = (await exchanged.json()) as TokenResponse
  const sid = (JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid
  return { browser, response, tokens: { ...tokens, session_id: sid } }
}
