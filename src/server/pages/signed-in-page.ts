import type { FastifyReply, FastifyRequest } from 'fastify'
import { isAdmin, isAuditor } from '../admin/admins.js'
import type { Uses } from '../context.js'
import type { SignedIn } from '../identity/browser-session.js'
import { loginUrl } from '../identity/return-to.js'
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
