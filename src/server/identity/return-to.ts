/**
 * Where the browser may be sent back to after signing in: our own pages only — the authorize and device
 * pages of the CLI's logins, the home page, the admin, recordings and access-request pages. Anything else → /device.
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || /[\r\n\\]/.test(value)) return '/device'
  if (/^\/(authorize\?|device(\?|$)|requests(\/req-[a-z0-9]{10})?$)/.test(value)) return value
  if (/^\/((admin|recordings)(\/[A-Za-z0-9_-]+)*\/?(\?[^\s#]*)?)?$/.test(value)) return value
  return '/device'
}

/** The login page, returning to `returnTo` afterwards. */
export function loginUrl(returnTo: string): string {
  return `/login?return_to=${encodeURIComponent(returnTo)}`
}

/** Starts a sign-in at the identity provider (the login page links here when local users are configured too). */
export const OIDC_LOGIN_PATH = '/login/sso'
