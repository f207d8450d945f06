// A person who signs in but may not have a session (an admin disabled them) is refused on the sign-in page; the
// CLI that sent them there would otherwise wait for an answer that never comes (polling a device code until it
// expires, or listening on its loopback port until its login timeout). So the refusal is also delivered to the
// CLI's request that the page was to return to: the device code is denied (the next poll says why), and an
// authorization request is answered on its loopback redirect with `access_denied` and the reason.
import { ACCOUNT_DISABLED, CLIENT_ID } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import type { AuthContext, Identity } from '../identity/identity.js'
import { isAllowedRedirectUri } from './redirect-uri.js'
import { normalizeUserCode } from './user-code.js'

export type RefusedLoginDeps = Uses<'now' | 'publicUrl', 'oauth'>

/** `account disabled: alice@example.com has been disabled by an administrator of this server`. */
export function accountDisabledReason(email: string): string {
  return `${ACCOUNT_DISABLED}: ${email} has been disabled by an administrator of this server`
}

/**
 * Passes the refusal of `identity` on to the CLI request behind `returnTo` (the sign-in page's return path).
 * Returns where to send the browser instead of the refusal page (the CLI's loopback redirect), or null.
 */
export async function refuseWaitingLogin(ctx: RefusedLoginDeps, returnTo: string, identity: Identity, auth: AuthContext, reason: string): Promise<string | null> {
  const url = new URL(returnTo, 'http://return.invalid')
  if (url.pathname === '/device') {
    const userCode = normalizeUserCode(url.searchParams.get('user_code') ?? undefined)
    // Denied with the person's identity: the poll tells a denial by the person from a refused person (grant-device-code.ts).
    if (userCode !== undefined) await ctx.store.oauth.decideDeviceCode(userCode, 'denied', { identity, auth }, ctx.now())
    return null
  }
  if (url.pathname !== '/authorize') return null
  const redirectUri = url.searchParams.get('redirect_uri') ?? ''
  // Only where /authorize itself would send an error: our client, an exact loopback redirect.
  if (url.searchParams.get('client_id') !== CLIENT_ID || !isAllowedRedirectUri(redirectUri)) return null
  const target = new URL(redirectUri)
  target.searchParams.set('error', 'access_denied')
  target.searchParams.set('error_description', reason)
  const state = url.searchParams.get('state')
  if (state !== null && state.length <= 512) target.searchParams.set('state', state)
  target.searchParams.set('iss', ctx.publicUrl())
  return target.toString()
}
