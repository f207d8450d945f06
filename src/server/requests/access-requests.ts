import { randomBytes } from 'node:crypto'
import { formatDuration } from '../../shared/duration.js'
import { JitsshError } from '../../shared/errors.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { PolicyRule, RequestRule, ServerConfig } from '../config/types.js'
import { isMember, type AuthContext, type Identity } from '../identity/identity.js'
import { checkConditions } from '../policy/conditions.js'
import { hostMatches, ruleMatchesHost, ruleMatchesIdentity, type UsableGrant } from '../policy/policy.js'
import { renderPrincipal } from '../policy/principals.js'
import type { AccessRequestChange, AccessRequestRow, AccessRequestState, AccessReviewRow, Store } from '../store/store.js'
import { requestedHostOrPattern, requestedReason } from '../http/request-fields.js'

/** Pending requests one person may hold at once: what an authenticated caller can make the server keep. */
export const MAX_PENDING_PER_PERSON = 20
/** How often timed transitions (expiry, the end of a grant) are applied and announced. */
const SWEEP_MS = 2_000
/** The shortest grant (a short one is fine for a single command; policy caps the longest). */
export const MIN_DURATION_MS = 10_000

/** What happened to a request, for the audit log and the webhooks (request.<event>). */
export type RequestEvent = 'created' | 'reviewed' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'revoked' | 'ended' | 'break_glass' | 'activated'

/** Who is acting: the person as they are now, from a CLI session or a browser. */
export interface RequestActor {
  identity: Identity
  auth: AuthContext | null
  sessionId: string | null
  ip: string | undefined
}

export interface CreateRequestInput {
  host: unknown
  login: unknown
  durationMs: number
  reason: unknown
  breakGlass: boolean
  dryRun: boolean
}

/** A request with its reviews, and what the viewer may do with it. */
export interface RequestDetails {
  request: AccessRequestRow
  reviews: AccessReviewRow[]
  /** The viewer may approve or deny it now. */
  canReview: boolean
  /** The viewer may revoke the grant (the requester, an approver of its rule, an admin). */
  canRevoke: boolean
  canCancel: boolean
}

/** Told of every transition (the webhooks). Must not throw or block. */
export type RequestNotifier = (event: RequestEvent, request: AccessRequestRow, extra: { by: string; reason: string | null; notify: string[] }) => void

export interface AccessRequestsDeps {
  store: Pick<Store, 'requests' | 'onRevocation'>
  audit: AuditLog
  /** The running configuration (a reload applies to the next call). */
  config: () => ServerConfig
  now: () => number
  notify: RequestNotifier
  /** Told of grants that were revoked (here or on another replica): their tunnels close. */
  onError: (error: unknown, message: string) => void
}

/**
 * Access requests: a person asks for a host (or a pattern within a rule's hosts), one login and a duration
 * under a policy rule with `request:`; its approvers (never the requester) approve or deny; the approved
 * grant's use window starts at approval, must be claimed (first used) by its claim-by deadline, and ends by
 * itself. Eligibility (the requester still matches the rule, the rule still exists, its conditions hold) is
 * re-checked at every use by policy (policy.ts, rules with `request:`); this service keeps the lifecycle,
 * audits every transition and tells the notifier.
 */
export class AccessRequests {
  private readonly revokedListeners = new Set<(grantId: string, reason: string) => void>()
  /** Grants this process has seen used (approved → active is written once). */
  private readonly activated = new Set<string>()
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly deps: AccessRequestsDeps) {
    deps.store.onRevocation((event) => {
      if (event.kind === 'grant') this.tellRevoked(event.grantId, event.reason)
    })
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep().catch((error: unknown) => this.deps.onError(error, 'access requests: the sweep failed')), SWEEP_MS).unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Runs for every revoked grant (here or on another replica). Returns the unsubscribe. */
  onGrantRevoked(listener: (grantId: string, reason: string) => void): () => void {
    this.revokedListeners.add(listener)
    return () => void this.revokedListeners.delete(listener)
  }

  /** The person's grants usable now, for policy; none without a single rule with `request:` (no query). */
  async grantsFor(identity: Identity, now: number): Promise<UsableGrant[]> {
    if (!this.deps.config().policy.some((rule) => rule.request)) return []
    const rows = await this.deps.store.requests.usable(identity.sub, now)
    return rows.map((row) => ({ id: row.id, rule: row.rule, host: row.host, login: row.login, endsAt: row.endsAt!, breakGlass: row.breakGlass }))
  }

  /** A certificate or tunnel used the grant: the first use claims it (approved → active), once. */
  async used(grantId: string, actor: RequestActor, what: { action: 'sign' | 'tunnel' | 'terminal'; host: string }): Promise<void> {
    if (this.activated.has(grantId)) return
    const row = await this.deps.store.requests.transition(grantId, ['approved'], { state: 'active', firstUsedAt: this.deps.now() })
    this.activated.add(grantId)
    if (this.activated.size > 10_000) this.activated.clear()
    if (row) await this.record('activated', row, actor.identity.email, null, { action: what.action, used_host: what.host, session_id: actor.sessionId, ip: actor.ip })
  }

  /**
   * A new request (or, with `dryRun`, what it would be). The rule is the first one with `request:` that
   * matches the person (or, for break-glass, its break_glass list), covers the host (a pattern: every
   * target it matches) and grants the login.
   */
  async create(actor: RequestActor, input: CreateRequestInput): Promise<{ request: AccessRequestRow; approvers: string[]; autoApproved: boolean }> {
    const config = this.deps.config()
    const now = this.deps.now()
    const host = requestedHostOrPattern(input.host)
    const login = input.login === undefined || input.login === null || input.login === '' ? undefined : requestedLogin(input.login)
    const { rule, request: settings, logins } = this.ruleFor(config, actor.identity, host, login, input.breakGlass)
    const chosen = login ?? (logins.length === 1 ? logins[0]! : undefined)
    if (chosen === undefined) throw new JitsshError('ERR_BAD_REQUEST', `rule "${rule.name}" grants ${logins.join(', ')} on ${host}: say which with --login`)
    if (input.durationMs < MIN_DURATION_MS) throw new JitsshError('ERR_BAD_REQUEST', 'duration must be at least 10s')
    if (input.durationMs > settings.maxDurationMs) {
      throw new JitsshError('ERR_BAD_REQUEST', `duration ${formatDuration(input.durationMs)} is longer than rule "${rule.name}" allows (${formatDuration(settings.maxDurationMs)})`)
    }
    const reason = requestedReason(input.reason)
    if (reason === null && (settings.reasonRequired || input.breakGlass)) {
      throw new JitsshError('ERR_BAD_REQUEST', `a reason is required${settings.reasonPrompt ? ` (${settings.reasonPrompt})` : ''}: add --reason "..."`)
    }
    const facts = { at: now, sourceIp: actor.ip, auth: actor.auth }
    const autoApproved = !input.breakGlass && settings.autoApprove !== undefined && checkConditions(settings.autoApprove, facts).failed === undefined
    const approved = input.breakGlass || autoApproved
    const row: AccessRequestRow = {
      id: newRequestId(),
      requester: actor.identity,
      rule: rule.name,
      host,
      login: chosen,
      durationMs: input.durationMs,
      reason,
      state: approved ? 'approved' : 'pending',
      approvalsRequired: settings.approvals,
      breakGlass: input.breakGlass,
      createdAt: now,
      pendingUntil: now + settings.pendingForMs,
      ...(approved ? approvalWindow(settings, input.durationMs, now) : { approvedAt: null, claimBy: null, endsAt: null }),
      firstUsedAt: null,
      closedAt: null,
      closedBy: null,
      closedReason: null,
      clientIp: actor.ip ?? null,
    }
    const approvers = describePeople(settings.approvers)
    if (input.dryRun) return { request: row, approvers, autoApproved }
    if ((await this.deps.store.requests.countPending(actor.identity.sub)) >= MAX_PENDING_PER_PERSON) {
      throw new JitsshError('ERR_FORBIDDEN', `${actor.identity.email} has ${MAX_PENDING_PER_PERSON} pending requests already: cancel some first (jitssh request ls)`)
    }
    await this.deps.store.requests.create(row)
    const context = { session_id: actor.sessionId, ip: actor.ip }
    if (input.breakGlass) {
      await this.record('break_glass', row, actor.identity.email, reason, context, approvers)
    } else {
      await this.record('created', row, actor.identity.email, reason, context, approvers)
      if (autoApproved) await this.record('approved', row, 'auto-approval', 'the rule approves it under these conditions', context)
    }
    return { request: row, approvers, autoApproved }
  }

  /** Approve or deny: an approver of the rule as configured now, never the requester. */
  async review(actor: RequestActor, id: string, decision: 'approve' | 'deny', reasonInput: unknown): Promise<RequestDetails> {
    const reason = requestedReason(reasonInput)
    if (decision === 'deny' && reason === null) throw new JitsshError('ERR_BAD_REQUEST', 'a denial needs a reason: add --reason "..."')
    const found = await this.visible(actor, id, false)
    const { request } = found
    const settings = this.requestRuleOf(request)
    if (samePerson(request.requester, actor.identity)) throw new JitsshError('ERR_FORBIDDEN', `${actor.identity.email} cannot review their own request`)
    if (!settings || !isMember(settings.approvers, actor.identity)) throw new JitsshError('ERR_FORBIDDEN', `${actor.identity.email} is not an approver of rule "${request.rule}"`)
    const now = this.deps.now()
    const review: AccessReviewRow = { requestId: id, reviewer: actor.identity.sub, reviewerEmail: actor.identity.email, decision, reason, at: now }
    const outcome = await this.deps.store.requests.review(id, review, (current, reviews): AccessRequestChange | undefined => {
      if (decision === 'deny') return { state: 'denied', closedAt: now, closedBy: actor.identity.email, closedReason: reason }
      const approvals = reviews.filter((candidate) => candidate.decision === 'approve').length
      return approvals >= current.approvalsRequired ? { state: 'approved', ...approvalWindow(settings, current.durationMs, now) } : undefined
    })
    if (outcome.outcome === 'unknown') throw notFound(id)
    if (outcome.outcome === 'duplicate') throw new JitsshError('ERR_BAD_REQUEST', `${actor.identity.email} has reviewed ${id} already`)
    if (outcome.outcome === 'closed') throw new JitsshError('ERR_BAD_REQUEST', `${id} is ${effectiveState(outcome.request, now)}: it can no longer be reviewed`)
    const context = { session_id: actor.sessionId, ip: actor.ip, decision, approvals: outcome.reviews.filter((r) => r.decision === 'approve').length, required: outcome.request.approvalsRequired }
    await this.record('reviewed', outcome.request, actor.identity.email, reason, context)
    if (outcome.request.state === 'approved') await this.record('approved', outcome.request, actor.identity.email, reason, context)
    if (outcome.request.state === 'denied') await this.record('denied', outcome.request, actor.identity.email, reason, context)
    return this.details(actor, outcome.request, outcome.reviews, false)
  }

  /** The requester takes back a pending request. */
  async cancel(actor: RequestActor, id: string, reasonInput: unknown): Promise<AccessRequestRow> {
    const reason = requestedReason(reasonInput)
    const { request } = await this.visible(actor, id, false)
    if (!samePerson(request.requester, actor.identity)) throw new JitsshError('ERR_FORBIDDEN', `only ${request.requester.email} can cancel ${id}`)
    const now = this.deps.now()
    const row = await this.deps.store.requests.transition(id, ['pending'], { state: 'cancelled', closedAt: now, closedBy: actor.identity.email, closedReason: reason ?? 'cancelled by the requester' })
    if (!row) throw new JitsshError('ERR_BAD_REQUEST', `${id} is ${effectiveState(request, now)}: only a pending request can be cancelled (revoke a grant instead)`)
    await this.record('cancelled', row, actor.identity.email, row.closedReason, { session_id: actor.sessionId, ip: actor.ip })
    return row
  }

  /**
   * Ends a grant before its time: the requester, an approver of its rule or an admin. Its tunnels close
   * here and on every replica; its certificates go on the KRL.
   */
  async revoke(actor: RequestActor, id: string, reasonInput: unknown, admin: boolean): Promise<AccessRequestRow> {
    const reason = requestedReason(reasonInput) ?? 'revoked'
    const found = await this.visible(actor, id, admin)
    if (!this.details(actor, found.request, found.reviews, admin).canRevoke) throw new JitsshError('ERR_FORBIDDEN', `${actor.identity.email} may not revoke ${id}`)
    const now = this.deps.now()
    const row = await this.deps.store.requests.revoke(id, now, actor.identity.email, reason)
    if (!row) throw new JitsshError('ERR_BAD_REQUEST', `${id} is ${effectiveState(found.request, now)}: only an approved or active grant can be revoked`)
    this.tellRevoked(id, reason)
    await this.record('revoked', row, actor.identity.email, reason, { session_id: actor.sessionId, ip: actor.ip })
    return row
  }

  /** One request, for its requester, its rule's approvers and admins; ERR_NOT_FOUND for anyone else. */
  async get(actor: RequestActor, id: string, admin: boolean): Promise<RequestDetails> {
    const found = await this.visible(actor, id, admin)
    return this.details(actor, found.request, found.reviews, admin)
  }

  /**
   * `mine`: the person's own requests; `review`: pending ones they may approve; `all` (admins): everyone's.
   * Newest first, at most `limit`.
   */
  async list(actor: RequestActor, scope: 'mine' | 'review' | 'all', limit: number, admin: boolean): Promise<AccessRequestRow[]> {
    const { requests } = this.deps.store
    if (scope === 'mine') return requests.list({ requester: actor.identity.sub, limit })
    if (scope === 'all') {
      if (!admin) throw new JitsshError('ERR_FORBIDDEN', `admin rights needed: ${actor.identity.email} is not an admin of this server`)
      return requests.list({ limit })
    }
    const now = this.deps.now()
    const pending = await requests.list({ states: ['pending'], limit: 500 })
    return pending.filter((row) => row.pendingUntil > now && this.mayReview(actor.identity, row)).slice(0, limit)
  }

  /** The requester's recent requests, for a reviewer deciding on one of them. */
  async historyOf(requester: Identity, limit: number): Promise<AccessRequestRow[]> {
    return this.deps.store.requests.list({ requester: requester.sub, limit })
  }

  /** Applies the transitions time makes (expiry, the end of a grant), announces each once across replicas. */
  async sweep(): Promise<void> {
    for (const { request, from } of await this.deps.store.requests.sweep(this.deps.now())) {
      const event: RequestEvent = request.state === 'ended' ? 'ended' : 'expired'
      await this.record(event, request, 'system', request.closedReason, { from })
    }
  }

  private details(actor: RequestActor, request: AccessRequestRow, reviews: AccessReviewRow[], admin: boolean): RequestDetails {
    const own = samePerson(request.requester, actor.identity)
    const approver = this.isApproverOf(actor.identity, request)
    const now = this.deps.now()
    const live = (request.state === 'approved' || request.state === 'active') && (request.endsAt ?? 0) > now
    return {
      request,
      reviews,
      canReview: !own && this.mayReview(actor.identity, request) && !reviews.some((review) => review.reviewer === actor.identity.sub) && request.pendingUntil > now,
      canRevoke: live && (own || approver || admin),
      canCancel: own && request.state === 'pending',
    }
  }

  private async visible(actor: RequestActor, id: string, admin: boolean): Promise<{ request: AccessRequestRow; reviews: AccessReviewRow[] }> {
    const found = typeof id === 'string' && /^req-[a-z0-9]{10}$/.test(id) ? await this.deps.store.requests.get(id) : undefined
    // Whoever may not see it learns nothing, not even that it exists.
    if (!found || !(admin || samePerson(found.request.requester, actor.identity) || this.isApproverOf(actor.identity, found.request))) throw notFound(id)
    return found
  }

  private mayReview(identity: Identity, request: AccessRequestRow): boolean {
    return request.state === 'pending' && !samePerson(request.requester, identity) && this.isApproverOf(identity, request)
  }

  private isApproverOf(identity: Identity, request: AccessRequestRow): boolean {
    return isMember(this.requestRuleOf(request)?.approvers, identity)
  }

  private requestRuleOf(request: AccessRequestRow): RequestRule | undefined {
    return this.deps.config().policy.find((rule) => rule.name === request.rule)?.request
  }

  /** The rule a request is made under, and the logins it grants this person; ERR_POLICY_DENIED when none. */
  private ruleFor(config: ServerConfig, identity: Identity, host: string, login: string | undefined, breakGlass: boolean): { rule: PolicyRule; request: RequestRule; logins: string[] } {
    const targets = [...config.targets.keys()]
    const covered = (rule: PolicyRule): boolean => {
      if (!host.includes('*') && !host.includes('?')) return ruleMatchesHost(rule, host)
      // A pattern: every configured target it matches must be one of the rule's, and it must match one.
      const matched = targets.filter((target) => hostMatches(target, host))
      return matched.length > 0 && matched.every((target) => ruleMatchesHost(rule, target))
    }
    const denied = config.policy.find((rule) => rule.effect === 'deny' && rule.when === undefined && ruleMatchesIdentity(rule, identity) && covered(rule))
    if (denied) throw new JitsshError('ERR_POLICY_DENIED', `policy rule "${denied.name}" denies ${identity.email} access to ${host}: nothing to request`)
    let loginMismatch: string | undefined
    for (const rule of config.policy) {
      const settings = rule.request
      if (!settings || rule.effect !== 'allow') continue
      const person = breakGlass ? isMember(settings.breakGlass, identity) : ruleMatchesIdentity(rule, identity)
      if (!person || !covered(rule)) continue
      const logins = [...new Set(rule.principals.map((template) => renderPrincipal(template, identity, config.certificates.forbiddenPrincipals)).filter((p) => p !== undefined))]
      if (login !== undefined && !logins.includes(login)) {
        loginMismatch ??= `rule "${rule.name}" grants ${logins.join(', ') || 'no login'} on ${host}, not ${login}`
        continue
      }
      if (logins.length === 0) continue
      return { rule, request: settings, logins }
    }
    if (loginMismatch) throw new JitsshError('ERR_POLICY_DENIED', loginMismatch)
    const what = breakGlass ? 'take break-glass access to' : 'request access to'
    throw new JitsshError('ERR_POLICY_DENIED', `no policy rule lets ${identity.email} ${what} ${host}`, { hint: 'see: jitssh hosts' })
  }

  private tellRevoked(grantId: string, reason: string): void {
    this.activated.delete(grantId)
    for (const listener of [...this.revokedListeners]) {
      try {
        listener(grantId, reason)
      } catch (error) {
        this.deps.onError(error, 'access requests: a revocation listener failed')
      }
    }
  }

  /** Audits one transition (`access_request.<event>`) and tells the notifier. */
  private async record(event: RequestEvent, request: AccessRequestRow, by: string, reason: string | null, context: Record<string, unknown>, notify: string[] = []): Promise<void> {
    await this.deps.audit.record({
      type: `access_request.${event}`,
      outcome: event === 'denied' ? 'denied' : 'ok',
      user: request.requester.email,
      host: request.host,
      detail: {
        request_id: request.id, by, reason, rule: request.rule, login: request.login, state: request.state, duration_ms: request.durationMs,
        ...(request.endsAt !== null ? { ends_at: request.endsAt } : {}), ...(request.breakGlass ? { break_glass: true } : {}), ...context,
      },
    })
    try {
      this.deps.notify(event, request, { by, reason, notify })
    } catch (error) {
      this.deps.onError(error, 'access requests: the notifier failed')
    }
  }
}

/** The use window of an approval at `now`: it starts now, must be claimed within claim_within (not after its end). */
function approvalWindow(settings: RequestRule, durationMs: number, now: number): Pick<AccessRequestRow, 'approvedAt' | 'claimBy' | 'endsAt'> {
  const endsAt = now + durationMs
  return { approvedAt: now, claimBy: Math.min(now + settings.claimWithinMs, endsAt), endsAt }
}

function samePerson(a: Identity, b: Identity): boolean {
  return a.sub === b.sub || a.email.toLowerCase() === b.email.toLowerCase()
}

function describePeople(people: { users: string[]; groups: string[] }): string[] {
  return [...people.users, ...people.groups.map((group) => `group ${group}`)]
}

function notFound(id: string): JitsshError {
  return new JitsshError('ERR_NOT_FOUND', `no access request ${String(id).slice(0, 40)} that you can see`)
}

/** A unix login name from a request (the rule decides whether it is granted). */
function requestedLogin(value: unknown): string {
  if (typeof value !== 'string' || !/^[a-z_][a-z0-9_.-]{0,31}$/.test(value)) throw new JitsshError('ERR_BAD_REQUEST', 'login must be a unix account name like "deploy"')
  return value
}

/**
 * The state as of `now`: what the sweep will record at its next turn (within seconds) is already true —
 * a grant past its end has ended, a request past its deadline has expired.
 */
export function effectiveState(request: AccessRequestRow, now: number): AccessRequestState {
  if (request.state === 'pending' && request.pendingUntil <= now) return 'expired'
  if (request.state === 'approved' && ((request.claimBy ?? Infinity) <= now || (request.endsAt ?? Infinity) <= now)) return 'expired'
  if (request.state === 'active' && (request.endsAt ?? Infinity) <= now) return 'ended'
  return request.state
}

/** Letters and digits people do not confuse (no 0/o, 1/l): 10 of them are 50 random bits. */
const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'

/** `req-` and 10 random characters: short enough to type, long enough not to collide. */
function newRequestId(): string {
  return `req-${[...randomBytes(10)].map((byte) => ID_ALPHABET[byte & 31]).join('')}`
}
