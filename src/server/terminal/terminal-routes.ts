import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import { JitsshError, httpStatusFor, isJitsshError } from '../../shared/errors.js'
import { TERMINAL_MAX_COLS, TERMINAL_MAX_ROWS } from '../../shared/terminal-protocol.js'
import { openHostAccess, type HostAccess } from '../bastion/access-check.js'
import type { Uses } from '../context.js'
import { requestedHost } from '../http/request-fields.js'
import { fromOwnOrigin } from '../http/same-origin.js'
import type { SignedIn } from '../identity/browser-session.js'
import { randomToken, sha256Hex } from '../oauth/secrets.js'
import { livePageCsp, PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import { renderTerminalPage } from '../pages/terminal-page.js'
import type { TerminalRequest } from './terminal-service.js'

export type TerminalRouteDeps = Uses<'assets' | 'audit' | 'browser' | 'config' | 'now' | 'publicUrl' | 'requests' | 'sessions' | 'terminals', 'sessions'>

/** A ticket opens one WebSocket, within this long of the page that carries it. */
export const TERMINAL_TICKET_TTL_MS = 30_000

interface TerminalForm {
  csrf_token?: unknown
  host?: unknown
  login?: unknown
}

interface SocketQuery {
  ticket?: unknown
  cols?: unknown
  rows?: unknown
}

/**
 * The browser terminal:
 *   POST /terminal {csrf_token, host, login}  (the home page's button; CSRF and Origin checked) → openHostAccess →
 *     a one-time ticket (30 s, for this browser session, host and login) → the terminal page that carries it;
 *   GET /terminal/ws?ticket=&cols=&rows=  (WebSocket) → Origin must be ours, the session cookie signed in, the
 *     ticket this browser's and unused, openHostAccess again: all before the upgrade, so a refusal starts no
 *     ssh; then TerminalService.run.
 * Refusals of a signed-in person are audited (`access.denied`, action `terminal`).
 */
export function registerTerminalRoutes(app: FastifyInstance, ctx: TerminalRouteDeps): void {
  const prepared = new WeakMap<FastifyRequest, TerminalRequest>()

  app.get('/terminal', async (_request, reply) => reply.code(303).header('location', '/').send())

  app.post<{ Body: TerminalForm }>('/terminal', async (request, reply) => {
    reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
    const signedIn = await ctx.browser.current(request)
    if (!signedIn) return reply.code(303).header('location', '/login?return_to=%2F').send()
    const form = request.body ?? {}
    if (!ctx.browser.verifyCsrf(request, form.csrf_token) || !fromOwnOrigin(request, ctx.publicUrl(), false)) {
      return reply.code(403).send(renderMessagePage('Form expired', 'The form was stale or not sent from this site. Go back, reload the page and try again.', { error: true }))
    }
    let host: string | null = null
    try {
      host = requestedHost(form.host)
      const access = await allowed(request, signedIn, host)
      const login = chosenLogin(access, form.login)
      const ticket = randomToken(32)
      const createdAt = ctx.now()
      await ctx.store.sessions.createTerminalTicket({ ticketHash: sha256Hex(ticket), webSession: signedIn.idHash, host, login, createdAt, expiresAt: createdAt + TERMINAL_TICKET_TTL_MS })
      const nonce = randomToken(16)
      const wsOrigin = new URL(ctx.publicUrl()).origin.replace(/^http/, 'ws')
      return reply.header('content-security-policy', livePageCsp(nonce, wsOrigin)).send(renderTerminalPage({
        host, login, email: access.session.identity.email, wsUrl: `${wsOrigin}/terminal/ws`, ticket, csrfToken: ctx.browser.csrfToken(request, reply),
        assets: { ...ctx.assets.page('terminal'), nonce },
      }))
    } catch (error) {
      if (!isJitsshError(error)) throw error
      await denied(request, signedIn, host, error)
      return reply.code(httpStatusFor(error.code)).send(renderMessagePage('No terminal', `${error.message}.`, { error: true }))
    }
  })

  async function prepare(request: FastifyRequest<{ Querystring: SocketQuery }>): Promise<void> {
    if (!(request as { ws?: boolean }).ws) throw new JitsshError('ERR_BAD_REQUEST', 'this endpoint needs a WebSocket upgrade')
    const signedIn = await ctx.browser.current(request)
    let host: string | null = null
    try {
      if (!fromOwnOrigin(request, ctx.publicUrl(), true)) throw new JitsshError('ERR_FORBIDDEN', 'a terminal opens only from a page of this server')
      if (!signedIn) throw new JitsshError('ERR_NOT_LOGGED_IN', 'not signed in')
      const ticket = typeof request.query.ticket === 'string' && request.query.ticket.length <= 100 ? await ctx.store.sessions.takeTerminalTicket(sha256Hex(request.query.ticket), ctx.now()) : undefined
      if (!ticket || ticket.webSession !== signedIn.idHash) throw new JitsshError('ERR_FORBIDDEN', 'the terminal ticket is unknown, used or expired: open the terminal again')
      host = ticket.host
      const access = await allowed(request, signedIn, host)
      const login = chosenLogin(access, ticket.login)
      prepared.set(request, { access, host, login, size: terminalSize(request.query), ip: request.ip })
    } catch (error) {
      if (!isJitsshError(error)) throw error
      if (signedIn) await denied(request, signedIn, host, error)
      throw error
    }
  }

  app.route<{ Querystring: SocketQuery }>({
    method: 'GET',
    url: '/terminal/ws',
    preHandler: prepare,
    handler: async () => {
      throw new JitsshError('ERR_BAD_REQUEST', 'this endpoint needs a WebSocket upgrade')
    },
    wsHandler: async (ws: WebSocket, request: FastifyRequest) => {
      const terminal = prepared.get(request)
      prepared.delete(request)
      if (!terminal) return ws.close(1011, 'the terminal was not prepared')
      await ctx.terminals.run(ws, terminal)
    },
  })

  /** The browser's server-side session and openHostAccess: the same checks as the bastion's. */
  async function allowed(request: FastifyRequest, signedIn: SignedIn, host: string): Promise<HostAccess> {
    const session = await ctx.sessions.forBrowser(signedIn, { clientIp: request.ip, userAgent: request.headers['user-agent']?.slice(0, 300) ?? null })
    return openHostAccess(ctx, session, host, { sourceIp: request.ip })
  }

  async function denied(request: FastifyRequest, signedIn: SignedIn, host: string | null, error: JitsshError): Promise<void> {
    await ctx.audit.record({
      type: 'access.denied', outcome: 'denied', user: signedIn.identity.email, host,
      detail: { action: 'terminal', code: error.code, reason: error.message, ip: request.ip },
    })
  }
}

/** The login asked for, if the grant has it; the grant's first otherwise. */
function chosenLogin(access: HostAccess, asked: unknown): string {
  const logins = access.decision.principals
  if (asked === undefined || asked === '') return logins[0]!
  if (typeof asked !== 'string' || !logins.includes(asked)) throw new JitsshError('ERR_POLICY_DENIED', `the policy does not grant the login ${JSON.stringify(String(asked).slice(0, 40))} on this host`)
  return asked
}

function terminalSize(query: SocketQuery): { cols: number; rows: number } {
  const number = (value: unknown, max: number, fallback: number): number =>
    typeof value === 'string' && /^\d{1,4}$/.test(value) && Number(value) >= 1 && Number(value) <= max ? Number(value) : fallback
  return { cols: number(query.cols, TERMINAL_MAX_COLS, 80), rows: number(query.rows, TERMINAL_MAX_ROWS, 24) }
}
