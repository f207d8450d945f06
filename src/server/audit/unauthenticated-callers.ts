import type { FastifyRequest } from 'fastify'
import type { SampledLog } from '../logging/sampled-log.js'
import type { AuditBudget, EventSubject } from './audit-budget.js'
import type { AuditEventInput, AuditLog } from './audit-log.js'

/** Where an unauthenticated caller was refused (the `route` label of the metrics). */
export type UnauthenticatedRoute = 'sign' | 'tunnel' | 'token' | 'login'

export interface UnauthenticatedCounters {
  countUnauthenticated(route: string): void
  countAuditSkipped(route: string): void
}

/**
 * What callers who have not authenticated may cost: anyone can send them, as fast as they like, so they
 * must not turn into durable, hash-chained rows without bound.
 * - `refused`: a request without a valid token (sign, tunnel) writes no row at all; it is counted
 *   (jitssh_unauthenticated_requests_total) and sampled into the log, at most one line per route per interval.
 * - `record`: an event worth auditing (a wrong password for a real user, an unknown refresh token) is written
 *   while the per-process budget lasts; beyond it, counted and sampled the same way.
 */
export class UnauthenticatedCallers {
  constructor(
    private readonly audit: Pick<AuditLog, 'record'>,
    private readonly budget: AuditBudget,
    private readonly counters: UnauthenticatedCounters,
    private readonly log: SampledLog,
  ) {}

  /** A request refused for want of a valid token. `error` is ours (its message is no secret and not the caller's text). */
  refused(route: UnauthenticatedRoute, request: FastifyRequest, error: Error): void {
    this.counters.countUnauthenticated(route)
    this.log.note(route, 'requests refused without a valid token (not audited: see jitssh_unauthenticated_requests_total)', { route, ip: request.ip, reason: error.message })
  }

  /** An unauthenticated caller's event: into the audit log while the budget for `subject` lasts. */
  async record(route: UnauthenticatedRoute, request: FastifyRequest, event: AuditEventInput, subject: EventSubject): Promise<void> {
    this.counters.countUnauthenticated(route)
    if (this.budget.take(subject)) {
      await this.audit.record(event)
      return
    }
    this.counters.countAuditSkipped(route)
    this.log.note(`${route}:skipped`, 'unauthenticated audit budget spent: events not written (see jitssh_audit_events_skipped_total)', {
      route, type: event.type, ip: request.ip, ...(subject === 'account' && event.user ? { user: event.user } : {}),
    })
  }
}
