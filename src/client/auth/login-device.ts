// The device login (RFC 8628): show the code and the verification URL, then poll the token endpoint at
// the server's interval, slowing down by 5 s on `slow_down`, until approved, denied or expired.
import { JitsshError } from '../../shared/errors.js'
import type { TokenResponse } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { HttpStatusError, requestJson, serverMessage } from '../http.js'
import { deviceAuthorizationAnswer, type Discovery } from '../server-answers.js'
import { terminalSafe } from '../terminal-text.js'
import type { LoginUi } from './login.js'
import { accountDisabled } from './refusals.js'
import { clientId, tokenRequest } from './oauth.js'

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
/** However often the server says slow_down, a poll a minute at least. */
const MAX_INTERVAL_MS = 60_000

export async function deviceLogin(ctx: ClientContext, discovery: Discovery, ui: LoginUi, options: { timeoutMs: number }): Promise<TokenResponse> {
  // URLs in the answer follow the endpoint rules; relative ones are read against the server's origin.
  const auth = await requestJson(ctx, discovery.device_authorization_endpoint, {
    answer: deviceAuthorizationAnswer(new URL(discovery.device_authorization_endpoint).origin),
    form: { client_id: clientId(discovery) },
  })
  // URLs stand alone (own line, or followed by a space): terminals and scripts pick them up cleanly. The
  // answer's checks leave nothing unsafe in them; terminalSafe all the same, as for all server text shown.
  const code = terminalSafe(auth.user_code)
  const uri = terminalSafe(auth.verification_uri)
  if (auth.verification_uri_complete !== null) {
    ui.info(`To log in, open this URL in a browser on any device and check that it shows the code ${code}:\n\n    ${terminalSafe(auth.verification_uri_complete)}\n`)
    ui.info(`Or open ${uri} and enter the code ${code} there.`)
  } else {
    ui.info(`To log in, open ${uri} in a browser on any device and enter the code:\n\n    ${code}\n`)
  }

  const started = ctx.now()
  const expiresMs = Math.min(options.timeoutMs, auth.expires_in * 1000)
  let intervalMs = auth.interval * 1000
  const stopSpinner = ui.waiting('Waiting for approval...')
  try {
    for (;;) {
      if (ctx.now() - started >= expiresMs) {
        throw new JitsshError('ERR_LOGIN_TIMEOUT', 'the login code expired before it was approved', { hint: 'run jitssh login again' })
      }
      await ctx.sleep(intervalMs, ctx.signal)
      try {
        return await tokenRequest(ctx, discovery, { grant_type: DEVICE_GRANT, device_code: auth.device_code })
      } catch (error) {
        if (!(error instanceof HttpStatusError)) throw error
        // The person signed in but may not log in (disabled): the server says so on the next poll.
        const disabled = accountDisabled(serverMessage(error.body), new URL(discovery.token_endpoint).origin)
        if (disabled !== null) throw disabled
        switch (error.errorName) {
          case 'authorization_pending':
            continue
          case 'slow_down':
            intervalMs = Math.min(intervalMs + 5_000, MAX_INTERVAL_MS)
            continue
          case 'access_denied':
            throw new JitsshError('ERR_LOGIN_DENIED', 'the login was denied in the browser', { hint: 'run jitssh login again' })
          case 'expired_token':
            throw new JitsshError('ERR_LOGIN_TIMEOUT', 'the login code expired before it was approved', { hint: 'run jitssh login again' })
          default:
            throw error
        }
      }
    }
  } finally {
    stopSpinner()
  }
}
