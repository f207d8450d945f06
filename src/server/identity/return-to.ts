/** Where the browser may be sent back to after signing in: our own authorize, device and request pages only. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string') return '/device'
  if (/^\/(authorize\?|device(\?|$)|requests(\/req-[a-z0-9]{10})?$)/.test(value) && !/[\r\n\\]/.test(value)) return value
  return '/device'
}

/** The login page, returning to `returnTo` afterwards. */
export function loginUrl(returnTo: string): string {
  return `/login?return_to=${encodeURIComponent(returnTo)}`
}

/** Starts a sign-in at the identity provider (the login page links here when local users are configured too). */
export const OIDC_LOGIN_PATH = '/login/sso'
