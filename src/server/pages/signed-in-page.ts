import type { FastifyReply, FastifyRequest } from 'fastify'
import { isJitsshError } from '../../shared/errors.js'
import { isAdmin, isAuditor } from '../admin/admins.js'
import { checkRole, type AdminRole } from '../admin/require-admin.js'
import type { Uses } from '../context.js'
import type { SignedIn } from '../identity/browser-session.js'
import { loginUrl } from '../identity/return-to.js'
import { PAGE_CSP } from './html.js'
import { renderMessagePage } from './login-page.js'
import type { NavInput } from './nav.js'

export type SignedInPageDeps = Uses<'browser' | 'config'>

/** The signed-in person of a page request and what their nav shows; undefined after sending them to sign in. */
export async function signedInForPage(ctx: SignedInPageDeps, request: FastifyRequest, reply: FastifyReply): Promise<{ signedIn: SignedIn; nav: NavInput } | undefined> {
  const signedIn = await ctx.browser.current(request)
  if (!signedIn) {
    await reply.code(303).header('location', loginUrl(request.url)).send()
    return undefined
  }
  const { identity } = signedIn
  return { signedIn, nav: { email: identity.email, admin: isAdmin(ctx, identity), auditor: isAuditor(ctx, identity) } }
}

/**
 * signedInForPage for the admin and recordings pages: the person must have `role` now; otherwise the refusal
 * is audited (checkRole) and they get a 403 page. Undefined when a response was sent.
 */
export async function signedInWithRole(
  ctx: SignedInPageDeps & Uses<'audit'>,
  request: FastifyRequest,
  reply: FastifyReply,
  role: AdminRole,
): Promise<{ signedIn: SignedIn; nav: NavInput } | undefined> {
  const page = await signedInForPage(ctx, request, reply)
  if (!page) return undefined
  try {
    await checkRole(ctx, request, page.signedIn.identity, role, null)
  } catch (error) {
    if (!isJitsshError(error)) throw error
    await reply.code(403).type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(renderMessagePage('Not allowed', `${error.message}.`, { error: true }))
    return undefined
  }
  return page
}
