import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isJitsshError } from '../../shared/errors.js'
import type { Uses } from '../context.js'
import type { SignedIn } from '../identity/browser-session.js'
import { loginUrl } from '../identity/return-to.js'
import { PAGE_CSP } from '../pages/html.js'
import { renderMessagePage } from '../pages/login-page.js'
import { renderRequestListPage, renderRequestPage } from '../pages/request-pages.js'
import type { RequestActor } from './access-requests.js'
import { actingAs } from './acting.js'

export type RequestPageDeps = Uses<'audit' | 'browser' | 'config' | 'now' | 'requests'>

/** What a POST did, shown once after the redirect (known values only: nothing from the query reaches the page). */
const DONE: Record<string, string> = {
  approve: 'You approved this request.',
  deny: 'You denied this request.',
  cancel: 'The request is cancelled.',
  revoke: 'The access is revoked: its tunnels are closed and its certificates are on the KRL.',
}

interface RequestForm {
  csrf_token?: unknown
  form?: unknown
  decision?: unknown
  reason?: unknown
}

/**
 * The reviewer's and requester's pages: `/requests` (what waits for review, one's own requests) and
 * `/requests/:id` (the request, the requester's recent history, and the review, cancel or revoke form).
 * Behind the browser sign-in; every form is CSRF-checked; approving takes a signed-in person and a click
 * on this page, never a link by itself.
 */
export function registerRequestPageRoutes(app: FastifyInstance, ctx: RequestPageDeps): void {
  const htmlReply = (reply: FastifyReply): FastifyReply => reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP)
  const actorOf = (signedIn: SignedIn, request: FastifyRequest): RequestActor => ({ identity: signedIn.identity, auth: signedIn.auth, sessionId: null, ip: request.ip })

  app.get('/requests', async (request, reply) => {
    const signedIn = await ctx.browser.current(request)
    if (!signedIn) return reply.code(302).header('location', loginUrl('/requests')).send()
    const actor = actorOf(signedIn, request)
    const [toReview, mine] = await Promise.all([ctx.requests.list(actor, 'review', 100, false), ctx.requests.list(actor, 'mine', 50, false)])
    return htmlReply(reply).send(renderRequestListPage({ signedInAs: signedIn.identity.email, toReview, mine, now: ctx.now() }))
  })

  async function show(request: FastifyRequest, reply: FastifyReply, signedIn: SignedIn, id: string, message?: { text: string; error: boolean }, status = 200): Promise<FastifyReply> {
    const actor = actorOf(signedIn, request)
    let details
    try {
      details = await actingAs(ctx, actor, 'request.show', id, (who, admin) => ctx.requests.get(who, id, admin))
    } catch (error) {
      if (!isJitsshError(error)) throw error
      return htmlReply(reply).code(error.code === 'ERR_NOT_FOUND' ? 404 : 403).send(renderMessagePage('Not found', error.message, { error: true }))
    }
    const { request: row, reviews } = details
    const own = row.requester.sub === signedIn.identity.sub
    const reviewed = reviews.some((review) => review.reviewer === signedIn.identity.sub)
    const reviewNote = details.canReview ? null
      : own ? 'This is your own request: someone else must review it.'
        : reviewed ? 'You have reviewed this request.'
          : row.state !== 'pending' ? `This request is ${row.state}; it can no longer be reviewed.` : null
    const history = own ? [] : (await ctx.requests.historyOf(row.requester, 11)).filter((other) => other.id !== row.id).slice(0, 10)
    return htmlReply(reply).code(status).send(renderRequestPage({
      csrfToken: ctx.browser.csrfToken(request, reply), signedInAs: signedIn.identity.email, request: row, reviews, history,
      canReview: details.canReview, canRevoke: details.canRevoke, canCancel: details.canCancel, reviewNote, now: ctx.now(), ...(message ? { message } : {}),
    }))
  }

  app.get<{ Params: { id: string }; Querystring: { done?: unknown } }>('/requests/:id', async (request, reply) => {
    const signedIn = await ctx.browser.current(request)
    const id = request.params.id
    if (!signedIn) return reply.code(302).header('location', loginUrl(`/requests/${/^req-[a-z0-9]{10}$/.test(id) ? id : ''}`)).send()
    const done = typeof request.query.done === 'string' ? DONE[request.query.done] : undefined
    return show(request, reply, signedIn, id, done ? { text: done, error: false } : undefined)
  })

  app.post<{ Params: { id: string }; Body: RequestForm }>('/requests/:id', async (request, reply) => {
    const form = request.body ?? {}
    if (!ctx.browser.verifyCsrf(request, form.csrf_token)) {
      return htmlReply(reply).code(403).send(renderMessagePage('Form expired', 'The form was stale or not sent from this site. Reload the page and try again.', { error: true }))
    }
    const signedIn = await ctx.browser.current(request)
    const id = request.params.id
    if (!signedIn) return reply.code(303).header('location', loginUrl(`/requests/${/^req-[a-z0-9]{10}$/.test(id) ? id : ''}`)).send()
    const actor = actorOf(signedIn, request)
    let done: string
    try {
      if (form.form === 'review' && (form.decision === 'approve' || form.decision === 'deny')) {
        const decision = form.decision
        await actingAs(ctx, actor, 'request.review', id, (who) => ctx.requests.review(who, id, decision, form.reason))
        done = decision
      } else if (form.form === 'cancel') {
        await actingAs(ctx, actor, 'request.cancel', id, (who) => ctx.requests.cancel(who, id, form.reason))
        done = 'cancel'
      } else if (form.form === 'revoke') {
        await actingAs(ctx, actor, 'request.revoke', id, (who, admin) => ctx.requests.revoke(who, id, form.reason, admin))
        done = 'revoke'
      } else {
        return show(request, reply, signedIn, id, { text: 'Choose approve or deny.', error: true }, 400)
      }
    } catch (error) {
      if (!isJitsshError(error)) throw error
      return show(request, reply, signedIn, id, { text: error.message, error: true }, error.code === 'ERR_FORBIDDEN' ? 403 : error.code === 'ERR_NOT_FOUND' ? 404 : 400)
    }
    return reply.code(303).header('location', `/requests/${id}?done=${done}`).send()
  })
}
