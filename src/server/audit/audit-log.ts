import type { AuditDraft, AuditOutcome, AuditRecord, AuditSeal, AuditStore, CertificateRow, CertificateStore, LiveTunnelRow, ReplicaRow, ReplicaStore } from '../store/store.js'
import { sealAuditRecord } from './audit-chain.js'
import type { AuditChainKey } from './audit-keys.js'

/** Event types written by this server. */
export type AuditType =
  | 'login'
  | 'logout'
  | 'token.issue'
  | 'token.refresh'
  | 'token.refresh_reuse'
  | 'token.code_reuse'
  | 'token.denied'
  | 'token_exchange.refused'
  | 'client_credentials.refused'
  | 'device.decision'
  | 'cert.sign'
  | 'tunnel.open'
  | 'tunnel.close'
  | 'session.revoke'
  | 'access.denied'
  | 'admin.revoke'
  | 'admin.user.disable'
  | 'admin.user.enable'
  | 'admin.service_account.disable'
  | 'admin.service_account.enable'
  | 'host_cert.sign'
  | 'config.reload'
  /** An access request's transitions: created, reviewed, approved, denied, expired, cancelled, activated, ended, revoked, break_glass. */
  | `access_request.${string}`
  | 'terminal.open'
  | 'terminal.close'
  | 'recording.view'
  | 'recording.export'

export interface AuditEventInput {
  type: AuditType
  outcome: AuditOutcome
  user?: string | null
  sessionId?: string | null
  host?: string | null
  detail?: Record<string, unknown>
}

/** Sees each event once it is durably in the chain (the metrics count from here). */
export type AuditListener = (record: AuditRecord) => void

/**
 * Writes audit events to the store's hash chain, each sealed with the chain key (keys_dir/audit_key).
 * Callers await it before they respond. Every event this process writes passes through here, so listeners
 * (`onRecorded`: metrics, checkpoints) see all of them, after the write.
 */
export class AuditLog {
  private readonly listeners: AuditListener[] = []
  private readonly seal: AuditSeal

  constructor(
    private readonly events: AuditStore,
    private readonly certificates: CertificateStore,
    private readonly replicas: ReplicaStore,
    key: AuditChainKey,
    private readonly now: () => number,
  ) {
    this.seal = (draft, previous, at) => sealAuditRecord(draft, previous, at, key)
  }

  /** `listener` runs after each successful write; one that throws is ignored (it must not fail the request). */
  onRecorded(listener: AuditListener): void {
    this.listeners.push(listener)
  }

  async record(event: AuditEventInput): Promise<AuditRecord> {
    return this.recorded(await this.events.append(auditDraft(event), this.now(), this.seal))
  }

  /** An issued certificate and its audit event, in one durable write (see CertificateStore.record). */
  async recordCertificate(row: CertificateRow, event: AuditEventInput): Promise<AuditRecord> {
    return this.recorded(await this.certificates.record(row, auditDraft(event), this.now(), this.seal))
  }

  /** A tunnel's tunnel.open and its live row, in one durable write (see ReplicaStore.openTunnel). */
  async recordTunnelOpen(row: LiveTunnelRow, event: AuditEventInput): Promise<AuditRecord> {
    return this.recorded(await this.replicas.openTunnel(row, auditDraft(event), this.now(), this.seal))
  }

  /** Its tunnel.close, with its row removed; undefined when the row was gone (its reaper wrote the close). */
  async recordTunnelClose(id: string, event: AuditEventInput): Promise<AuditRecord | undefined> {
    const record = await this.replicas.closeTunnel(id, auditDraft(event), this.now(), this.seal)
    return record && this.recorded(record)
  }

  /**
   * Reaps a dead process (see ReplicaStore.reap) as of `at` (the replicas' clock): the tunnel.close of each
   * tunnel it left open; undefined when another reaped it, or it was alive.
   */
  async recordReaping(id: string, by: string, at: number, silentBeats: number | null, event: (tunnel: LiveTunnelRow, replica: ReplicaRow) => AuditEventInput): Promise<AuditRecord[] | undefined> {
    const records = await this.replicas.reap(id, by, at, silentBeats, (tunnel, replica) => auditDraft(event(tunnel, replica)), this.seal)
    return records?.map((record) => this.recorded(record))
  }

  private recorded(record: AuditRecord): AuditRecord {
    for (const listener of this.listeners) {
      try {
        listener(record)
      } catch {
        // A listener's failure (a metrics bug) must not turn a written event into a failed request.
      }
    }
    return record
  }
}

function auditDraft(event: AuditEventInput): AuditDraft {
  return {
    type: event.type,
    outcome: event.outcome,
    user: event.user ?? null,
    sessionId: event.sessionId ?? null,
    host: event.host ?? null,
    detail: event.detail ?? {},
  }
}
