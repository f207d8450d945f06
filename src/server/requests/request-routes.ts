import type { FastifyInstance, FastifyRequest } from 'fastify'
import { JitsshError } from '../../shared/errors.js'
import type { AccessRequestList, AccessRequestView, CreateAccessRequest, CreateAccessRequestResponse } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import { authenticateBearer, type Authenticated } from '../http/bearer-auth.js'
import { requestedDurationSeconds, requestedObject } from '../http/request-fields.js'
import type { AccessRequestRow, AccessReviewRow } from '../store/store.js'
import { effectiveState, type RequestActor, type RequestDetails } from './access-requests.js'
import { actingAs } from './acting.js'

export type RequestRouteDeps = Uses<'accessTokens' | 'audit' | 'config' | 'now' | 'publicUrl' | 'requests' | 'sessions'>

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** The API's view of a request (with its reviews and what the caller may do, when given). */
export function requestView(publicUrl: string, now: number, request: AccessRequestRow, reviews: AccessReviewRow[] = [], can?: Pick<RequestDetails, 'canReview' | 'canRevoke' | 'canCancel'>): AccessRequestView {
  return {
    id: request.id, state: effectiveState(request, now), requester: request.requester.email, host: request.host, login: request.login,
    duration_seconds: Math.round(request.durationMs / 1000), reason: request.reason, rule: request.rule, break_glass: request.breakGlass,
    approvals_required: request.approvalsRequired, approvals: reviews.filter((review) => review.decision === 'approve').length,
    reviews: reviews.map((review) => ({ reviewer: review.reviewerEmail, decision: review.decision, reason: review.reason, at: iso(review.at)! })),
    created_at: iso(request.createdAt)!, pending_until: iso(request.pendingUntil)!, approved_at: iso(request.approvedAt), claim_by: iso(request.claimBy),
    ends_at: iso(request.endsAt), first_used_at: iso(request.firstUsedAt), closed_at: iso(request.closedAt), closed_by: request.closedBy,
    closed_reason: request.closedReason, review_url: `${publicUrl}/requests/${request.id}`,
    ...(can ? { can_review: can.canReview, can_revoke: can.canRevoke, can_cancel: can.canCancel } : {}),
  }
}

/**
 * Access requests for the CLI (`jitssh request ...`), all for the caller's own live session:
 * `POST /v1/requests`, `GET /v1/requests?scope=mine|review|all`, `GET /v1/requests/:id`, and
 * `POST /v1/requests/:id/{review,cancel,revoke}`. A refusal to an authenticated caller is audited.
 */
export function registerRequestRoutes(app: FastifyInstance, ctx: RequestRouteDeps): void {
  const perIp = { config: { rateLimit: { max: 120, timeWindow: 60_000 } } }
  const actorOf = (auth: Authenticated, request: FastifyRequest): RequestActor => ({ identity: auth.session.identity, auth: auth.session.auth, sessionId: auth.session.id, ip: request.ip })

  /** Authenticates, runs `action`, and audits a refusal (a forbidden review, a denied request) with what was tried. */
  async function acting<T>(request: FastifyRequest, what: string, action: (actor: RequestActor, admin: boolean) => Promise<T>): Promise<T> {
    const auth = await authenticateBearer(ctx, request)
    return actingAs(ctx, actorOf(auth, request), what, (request.params as { id?: string } | undefined)?.id, action)
  }

  app.post<{ Body: Partial<CreateAccessRequest> }>('/v1/requests', perIp, async (request): Promise<CreateAccessRequestResponse> =>
    acting(request, 'request.create', async (actor) => {
      const body = requestedObject<CreateAccessRequest>(request.body, '{host, login, duration_seconds, reason}')
      if (body.break_glass !== undefined && typeof body.break_glass !== 'boolean') throw new JitsshError('ERR_BAD_REQUEST', 'break_glass must be true or false')
      if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') throw new JitsshError('ERR_BAD_REQUEST', 'dry_run must be true or false')
      const created = await ctx.requests.create(actor, {
        host: body.host, login: body.login, reason: body.reason, breakGlass: body.break_glass === true, dryRun: body.dry_run === true,
        durationMs: requestedDurationSeconds(body.duration_seconds, 'duration_seconds', 10, 30 * 86_400),
      })
      return { request: requestView(ctx.publicUrl(), ctx.now(), created.request), dry_run: body.dry_run === true, approvers: created.approvers, auto_approved: created.autoApproved }
    }))

  app.get<{ Querystring: { scope?: unknown; limit?: unknown } }>('/v1/requests', perIp, async (request): Promise<AccessRequestList> =>
    acting(request, 'request.list', async (actor, admin) => {
      const scope = request.query.scope ?? 'mine'
      if (scope !== 'mine' && scope !== 'review' && scope !== 'all') throw new JitsshError('ERR_BAD_REQUEST', 'scope must be mine, review or all')
      const limit = request.query.limit === undefined ? 50 : Number(request.query.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new JitsshError('ERR_BAD_REQUEST', 'limit must be a whole number from 1 to 500')
      const rows = await ctx.requests.list(actor, scope, limit, admin)
      return { requests: rows.map((row) => requestView(ctx.publicUrl(), ctx.now(), row)) }
    }))

  app.get<{ Params: { id: string } }>('/v1/requests/:id', perIp, async (request): Promise<AccessRequestView> =>
    acting(request, 'request.show', async (actor, admin) => {
      const details = await ctx.requests.get(actor, request.params.id, admin)
      return requestView(ctx.publicUrl(), ctx.now(), details.request, details.reviews, details)
    }))

  app.post<{ Params: { id: string }; Body: { decision?: unknown; reason?: unknown } }>('/v1/requests/:id/review', perIp, async (request): Promise<AccessRequestView> =>
    acting(request, 'request.review', async (actor) => {
      const body = requestedObject<{ decision: unknown; reason: unknown }>(request.body, '{decision: "approve" | "deny", reason}')
      if (body.decision !== 'approve' && body.decision !== 'deny') throw new JitsshError('ERR_BAD_REQUEST', 'decision must be "approve" or "deny"')
      const details = await ctx.requests.review(actor, request.params.id, body.decision, body.reason)
      return requestView(ctx.publicUrl(), ctx.now(), details.request, details.reviews, details)
    }))

  app.post<{ Params: { id: string }; Body: { reason?: unknown } }>('/v1/requests/:id/cancel', perIp, async (request): Promise<AccessRequestView> =>
    acting(request, 'request.cancel', async (actor) => requestView(ctx.publicUrl(), ctx.now(), await ctx.requests.cancel(actor, request.params.id, requestedObject<{ reason: unknown }>(request.body ?? {}, '{reason}').reason))))

  app.post<{ Params: { id: string }; Body: { reason?: unknown } }>('/v1/requests/:id/revoke', perIp, async (request): Promise<AccessRequestView> =>
    acting(request, 'request.revoke', async (actor, admin) => requestView(ctx.publicUrl(), ctx.now(), await ctx.requests.revoke(actor, request.params.id, requestedObject<{ reason: unknown }>(request.body ?? {}, '{reason}').reason, admin))))
}
