import { JitsshError } from '../../shared/errors.js'
import { TUNNEL_CLOSE, type RevokeResult, type UserAccessResult } from '../../shared/protocol.js'
import type { Uses } from '../context.js'
import type { SessionRow } from '../store/store.js'

/** Who acts: an admin's active session (a CLI session from the API, a browser's from the admin page). */
export interface Admin {
  session: SessionRow
}

export type RevocationDeps = Uses<'audit' | 'now' | 'sessions' | 'tunnels', 'admin' | 'sessions' | 'users'>

/** Stored as the session's revoked_reason and sent in the tunnel's close frame (which allows 123 bytes). */
const REASON_ADMIN = 'by an admin'
const REASON_DISABLED = 'user disabled by an admin'
const REASON_ACCOUNT_DISABLED = 'service account disabled by an admin'
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{1,100}$/

/** An admin's free-text reason, kept for the audit only: one line, at most 200 characters. */
export function adminReason(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null
  if (typeof value !== 'string') throw new JitsshError('ERR_BAD_REQUEST', 'reason must be a string')
  return value.replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 200) || null
}

/**
 * What an admin can do to access: revoke one session, revoke every session of a user, disable or enable a
 * user. Revoking goes through SessionService.revoke, so the store marks the session (refresh and signing
 * fail at once: this replica drops its cache; with PostgreSQL the other replicas hear of it by NOTIFY as it
 * commits, drop theirs and close their tunnels), the tunnel registry closes the live tunnels here (the
 * `tunnels_closed` count is this replica's), and the next KRL lists the session's unexpired certificates. Each action is
 * audited twice: `session.revoke` per session (user = whose session, detail.by = the admin) and one
 * `admin.*` event (user = the admin, detail.target_user = whom).
 */
export class Revocations {
  constructor(private readonly ctx: RevocationDeps) {}

  async revokeSession(sessionId: unknown, admin: Admin, reason: string | null): Promise<RevokeResult> {
    if (typeof sessionId !== 'string' || !SESSION_ID_SHAPE.test(sessionId)) throw new JitsshError('ERR_BAD_REQUEST', 'session_id must be a session id (see: jitssh sessions)')
    const row = await this.ctx.store.sessions.get(sessionId)
    if (!row) throw new JitsshError('ERR_NOT_FOUND', `no session ${sessionId} on this server (see: jitssh sessions --all)`)
    const user = row.identity.email
    const result = await this.revokeSessions(user, [sessionId], REASON_ADMIN, admin, reason)
    await this.auditAdmin('admin.revoke', admin, { target_user: user, target_session: sessionId, reason, ...counts(result) })
    return result
  }

  async revokeUser(email: string, admin: Admin, reason: string | null): Promise<RevokeResult> {
    const result = await this.revokeAllOf(email, REASON_ADMIN, admin, reason)
    await this.auditAdmin('admin.revoke', admin, { target_user: email, reason, ...counts(result) })
    return result
  }

  /**
   * Disabled users (and service accounts, `service:<name>`) cannot log in or authenticate, refresh, sign or
   * tunnel; the flag is in the store, so every replica agrees.
   */
  async disableUser(email: string, admin: Admin, reason: string | null, type: 'admin.user.disable' | 'admin.service_account.disable' = 'admin.user.disable'): Promise<UserAccessResult> {
    const changed = await this.ctx.store.users.setDisabled(email, true, this.ctx.now(), admin.session.identity.email, reason)
    const result = await this.revokeAllOf(email, type === 'admin.user.disable' ? REASON_DISABLED : REASON_ACCOUNT_DISABLED, admin, reason)
    await this.auditAdmin(type, admin, { target_user: email, changed, reason, ...counts(result) })
    return { ...result, user: email, disabled: true, changed }
  }

  async enableUser(email: string, admin: Admin, reason: string | null, type: 'admin.user.enable' | 'admin.service_account.enable' = 'admin.user.enable'): Promise<UserAccessResult> {
    const changed = await this.ctx.store.users.setDisabled(email, false, this.ctx.now(), admin.session.identity.email, reason)
    await this.auditAdmin(type, admin, { target_user: email, changed, reason })
    return { user: email, disabled: false, changed, revoked_sessions: [], tunnels_closed: 0 }
  }

  private async revokeAllOf(email: string, storedReason: string, admin: Admin, reason: string | null): Promise<RevokeResult> {
    const sessions = await this.ctx.store.admin.listSessions({ now: this.ctx.now(), includeEnded: false, userEmail: email, limit: 100_000 })
    const ids = sessions.map((session) => session.id)
    const result = await this.revokeSessions(email, ids, storedReason, admin, reason)
    // Tunnels of this user under a session that was no longer active (it ended a moment ago) go too.
    for (const tunnel of this.ctx.tunnels.list()) {
      if (tunnel.user !== email || ids.includes(tunnel.sessionId)) continue
      tunnel.close(TUNNEL_CLOSE.SESSION_REVOKED, `session revoked: ${storedReason}`)
      result.tunnels_closed++
    }
    return result
  }

  private async revokeSessions(user: string, ids: string[], storedReason: string, admin: Admin, reason: string | null): Promise<RevokeResult> {
    const targets = new Set(ids)
    const live = this.ctx.tunnels.list().filter((tunnel) => targets.has(tunnel.sessionId)).length
    const detail = { by: admin.session.identity.email, by_session: admin.session.id, ...(reason ? { admin_reason: reason } : {}) }
    // In parallel: the store's group commit writes them in one transaction.
    const changed = await Promise.all(ids.map((id) => this.ctx.sessions.revoke(id, storedReason, { user, detail })))
    return { user, revoked_sessions: ids.filter((_id, index) => changed[index]), tunnels_closed: live }
  }

  private async auditAdmin(type: 'admin.revoke' | 'admin.user.disable' | 'admin.user.enable' | 'admin.service_account.disable' | 'admin.service_account.enable', admin: Admin, detail: Record<string, unknown>): Promise<void> {
    await this.ctx.audit.record({ type, outcome: 'ok', user: admin.session.identity.email, sessionId: admin.session.id, detail })
  }
}

function counts(result: RevokeResult): { revoked_sessions: string[]; tunnels_closed: number } {
  return { revoked_sessions: result.revoked_sessions, tunnels_closed: result.tunnels_closed }
}
