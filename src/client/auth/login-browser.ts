// The browser login (RFC 8252 + RFC 7636): a listener on 127.0.0.1 at a random port, authorization code
// with PKCE S256 and a checked state; the URL is always printed too. The callback page is answered only
// after the code exchange, so it tells the truth.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { JitsshError } from '../../shared/errors.js'
import { REDIRECT_PATH, type TokenResponse } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import type { Discovery } from '../server-answers.js'
import { firstLine } from '../terminal-text.js'
import { untilAborted } from '../abort.js'
import { clientId, createPkce, randomState, tokenRequest } from './oauth.js'
import { callbackPage } from './login-page.js'
import type { LoginUi } from './login.js'
import { accountDisabled } from './refusals.js'

interface Callback {
  params: URLSearchParams
  res: ServerResponse
}

export async function browserLogin(
  ctx: ClientContext,
  discovery: Discovery,
  ui: LoginUi,
  options: { openBrowser: boolean; timeoutMs: number; fresh?: boolean },
): Promise<TokenResponse> {
  const pkce = createPkce()
  const state = randomState()
  let deliver: (cb: Callback) => void = () => undefined
  const callback = new Promise<Callback>((resolve) => (deliver = resolve))
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method !== 'GET' || url.pathname !== REDIRECT_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    if (url.searchParams.get('state') !== state) {
      // Not our request (or a stale tab): refuse it, keep waiting for the real one.
      page(res, 400, callbackPage('error', 'This sign-in link does not belong to the jitssh login that is waiting. Start again with jitssh login.'))
      return
    }
    deliver({ params: url.searchParams, res })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const redirectUri = `http://127.0.0.1:${port}${REDIRECT_PATH}`
  const authorizeUrl = new URL(discovery.authorization_endpoint)
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: clientId(discovery),
    redirect_uri: redirectUri,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    state,
    ...(options.fresh ? { prompt: 'login' } : {}),
  })) authorizeUrl.searchParams.set(k, v)

  ui.info(`To log in, open this URL in a browser on this machine:\n\n  ${authorizeUrl.toString()}\n`)
  if (options.openBrowser) {
    ctx.openBrowser(authorizeUrl.toString()).catch(() => ui.warn('could not open a browser; open the URL above yourself'))
  }
  const stopSpinner = ui.waiting('Waiting for the browser to finish logging in...')
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new JitsshError('ERR_LOGIN_TIMEOUT', `login timed out after ${Math.round(options.timeoutMs / 1000)} s`, {
        hint: 'run jitssh login again, or jitssh login --device if the browser cannot reach this machine',
      }))
    }, options.timeoutMs)
  })
  try {
    const { params, res } = await untilAborted(Promise.race([callback, timeout]), ctx.signal, 'login interrupted')
    stopSpinner()
    const error = params.get('error')
    const code = params.get('code')
    const iss = params.get('iss')
    if (iss !== null && discovery.issuer && iss !== discovery.issuer) {
      // RFC 9207: the answer came from another authorization server (a mix-up attack); do not use it.
      page(res, 400, callbackPage('error', 'This answer came from a different server than the one jitssh asked.'))
      throw new JitsshError('ERR_LOGIN_DENIED', `login answer came from ${firstLine(iss).slice(0, 100)}, not ${firstLine(discovery.issuer)}`, { hint: 'run jitssh login again' })
    }
    if (error !== null || code === null) {
      const said = params.get('error_description') ?? error ?? 'no code'
      page(res, 400, callbackPage('error', `Login failed: ${said}`))
      const disabled = accountDisabled(firstLine(said), new URL(discovery.token_endpoint).origin)
      if (disabled !== null) throw disabled
      throw new JitsshError('ERR_LOGIN_DENIED', `login failed: ${firstLine(said).slice(0, 200)}`, { hint: 'run jitssh login again' })
    }
    try {
      const tokens = await tokenRequest(ctx, discovery, {
        grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: pkce.verifier,
      })
      page(res, 200, callbackPage('ok', 'You are logged in to jitssh. You can close this tab and return to the terminal.'))
      return tokens
    } catch (err) {
      page(res, 400, callbackPage('error', 'Login failed while finishing up. Check the terminal for details.'))
      throw err
    }
  } finally {
    stopSpinner()
    clearTimeout(timer)
    server.close()
    server.closeAllConnections()
  }
}

function page(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    connection: 'close',
  })
  res.end(html)
}
