import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isJitsshError } from '../../shared/errors.js'
import { openHostAccess } from '../bastion/access-check.js'
import type { Uses } from '../context.js'
import type { SignedIn } from '../identity/browser-session.js'
import { PAGE_CSP } from './html.js'
import { renderHomePage, renderWelcomePage, type ReachableHost } from './home-page.js'
import { signedInForPage } from './signed-in-page.js'

export type HomeRouteDeps = Uses<'browser' | 'config' | 'now' | 'publicUrl' | 'requests' | 'sessions' | 'tunnels', 'admin'>

const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'

/** `GET /`: signed in, the person's hosts and command-line sessions; otherwise how to start. */
export function registerHomeRoutes(app: FastifyInstance, ctx: HomeRouteDeps): void {
  app.get('/', async (request, reply) => {
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
    if (!(await ctx.browser.current(request))) return reply.send(renderWelcomePage({ publicUrl: ctx.publicUrl() }))
    const page = await signedInForPage(ctx, request, reply)
    if (!page) return reply
    const { identity } = page.signedIn
    const sessions = await ctx.store.admin.listSessions({ now: ctx.now(), includeEnded: false, userEmail: identity.email, limit: 50 })
    return reply.send(renderHomePage({
      nav: page.nav,
      csrfToken: ctx.browser.csrfToken(request, reply),
      hosts: await reachableHosts(ctx, request, page.signedIn),
      cliSessions: sessions.filter((session) => session.grant !== 'web').map((session) => ({
        id: session.id, createdAt: iso(session.createdAt), expiresAt: iso(session.expiresAt), tunnels: ctx.tunnels.countForSession(session.id, 'tunnel'),
      })),
      publicUrl: ctx.publicUrl(),
    }))
  })
}

/** Every configured target that openHostAccess opens to this person now, with the logins it grants. */
async function reachableHosts(ctx: HomeRouteDeps, request: FastifyRequest, signedIn: SignedIn): Promise<ReachableHost[]> {
  const session = await ctx.sessions.forBrowser(signedIn, { clientIp: request.ip, userAgent: request.headers['user-agent']?.slice(0, 300) ?? null })
  const hosts: ReachableHost[] = []
  for (const host of [...ctx.config.targets.keys()].sort()) {
    try {
      const { decision } = await openHostAccess(ctx, session, host, { sourceIp: request.ip })
      hosts.push({ host, logins: decision.principals })
    } catch (error) {
      if (!isJitsshError(error) || (error.code !== 'ERR_POLICY_DENIED' && error.code !== 'ERR_FORBIDDEN')) throw error
    }
  }
  return hosts
}
