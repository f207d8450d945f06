// The device login (RFC 8628): show the code and the verification URL, then poll the token endpoint at
// the server's interval, slowing down by 5 s on `slow_down`, until approved, denied or expired.
import { JitsshError } from '../../shared/errors.js'
import type { DeviceAuthorizationResponse, DiscoveryDocument, TokenResponse } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { HttpStatusError, requestJson } from '../http.js'
import { ANSWER_LIMITS } from '../server-answers.js'
import type { LoginUi } from './login.js'
import { clientId, tokenRequest } from './oauth.js'

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export async function deviceLogin(ctx: ClientContext, discovery: DiscoveryDocument, ui: LoginUi, options: { timeoutMs: number }): Promise<TokenResponse> {
  const auth = await requestJson<DeviceAuthorizationResponse>(ctx, discovery.device_authorization_endpoint, {
    answer: ANSWER_LIMITS.deviceAuthorization,
    form: { client_id: clientId(discovery) },
  })
  if (typeof auth?.device_code !== 'string' || typeof auth.user_code !== 'string' || typeof auth.verification_uri !== 'string') {
    throw new JitsshError('ERR_SERVER', 'the server sent an incomplete device authorization response')
  }
  const printable = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, '')
  // URLs stand alone (own line, or followed by a space): terminals and scripts pick them up cleanly.
  const code = printable(auth.user_code)
  if (typeof auth.verification_uri_complete === 'string' && auth.verification_uri_complete !== '') {
    ui.info(`To log in, open this URL in a browser on any device and check that it shows the code ${code}:\n\n    ${printable(auth.verification_uri_complete)}\n`)
    ui.info(`Or open ${printable(auth.verification_uri)} and enter the code ${code} there.`)
  } else {
    ui.info(`To log in, open ${printable(auth.verification_uri)} in a browser on any device and enter the code:\n\n    ${code}\n`)
  }

  const started = ctx.now()
  const expiresMs = Math.min(options.timeoutMs, (Number(auth.expires_in) || 600) * 1000)
  let intervalMs = Math.max(1, Number(auth.interval) || 5) * 1000
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
        switch (error.errorName) {
          case 'authorization_pending':
            continue
          case 'slow_down':
            intervalMs += 5_000
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
