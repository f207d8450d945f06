import type { AuditDraft, AuditOutcome, AuditRecord, Store } from '../store/store.js'
import { checkAuditChain, type ChainProblem } from './audit-chain.js'

/** Event types written by this server. */
export type AuditType =
  | 'login'
  | 'logout'
  | 'token.issue'
  | 'token.refresh'
  | 'token.refresh_reuse'
  | 'token.code_reuse'
  | 'token.denied'
  | 'device.decision'
  | 'cert.sign'
  | 'tunnel.open'
  | 'tunnel.close'
  | 'session.revoke'
  | 'access.denied'
  | 'admin.revoke'
  | 'admin.user.disable'
  | 'admin.user.enable'

export interface AuditEventInput {
  type: AuditType
  outcome: AuditOutcome
  user?: string | null
  sessionId?: string | null
  host?: string | null
  detail?: Record<string, unknown>
}

/** Writes audit events to the store's hash chain. Callers await it before they respond. */
export class AuditLog {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async record(event: AuditEventInput): Promise<AuditRecord> {
    const draft: AuditDraft = {
      type: event.type,
      outcome: event.outcome,
      user: event.user ?? null,
      sessionId: event.sessionId ?? null,
      host: event.host ?? null,
      detail: event.detail ?? {},
    }
    return this.store.appendAudit(draft, this.now())
  }
}

export interface AuditVerification {
  events: number
  problem: ChainProblem | undefined
}

/** Walks the whole chain in pages; stops at the first problem. */
export async function verifyAuditChain(store: Store, pageSize = 1000): Promise<AuditVerification> {
  let previous: AuditRecord | undefined
  let events = 0
  for (;;) {
    const page = await store.readAudit(previous?.seq ?? 0, pageSize)
    if (page.length === 0) return { events, problem: undefined }
    const problem = checkAuditChain(page, previous)
    if (problem) return { events, problem }
    events += page.length
    previous = page[page.length - 1]
  }
}
