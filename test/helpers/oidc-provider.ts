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

export async function startOidcProvider(options: { accounts: Record<string, OidcAccount> }): Promise<RunningOidcProvider> {
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
        clients: [{ ...client, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
        findAccount: async (_ctx: unknown, id: string) => {
          const account = options.accounts[id]
          if (!account) return undefined
          return { accountId: id, claims: async () => ({ sub: id, email_verified: true, ...account }) }
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
    async stop() {
      http.closeAllConnections()
      http.close()
      await once(http, 'close')
    },
  }
}
