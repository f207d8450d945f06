import { isJitsshError, JitsshError } from '../../shared/errors.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { Identities } from '../identity/identities.js'
import type { AuthContext, Identity } from '../identity/identity.js'
import { randomId } from '../oauth/secrets.js'
import { browserSessionId, type BrowserSignIn } from './browser-session-id.js'
import { accountDisabledReason } from '../oauth/refused-login.js'
import type { RevocationEvent, SessionRow, Store } from '../store/store.js'

/**
 * Session lookups are cached this long. A revocation here drops the entry at once; one made by another
 * replica drops it when the store tells us (PostgreSQL NOTIFY, milliseconds), and at worst — while that
 * subscription is down — the entry expires within this time.
 */
const CACHE_MS = 500

export interface SessionMeta {
  grant: SessionRow['grant']
  clientIp: string | null
  userAgent: string | null
  /** Shorter than sessions.lifetime (a service account's session: see automation/service-session.ts). */
  lifetimeMs?: number
}

/**
 * Server-side sessions: one per CLI login, with an absolute end and a revoked state. Every token check
 * goes through `requireActive`. Revocation listeners (the bastion's tunnel registry) run on revoke.
 */
export class SessionService {
  private readonly cache = new Map<string, { row: SessionRow; until: number }>()
  private readonly revokeListeners = new Set<(sessionId: string, reason: string) => void>()
  private readonly userRevokeListeners = new Set<(user: string, reason: string) => void>()
  private readonly resyncListeners = new Set<() => void>()
  /** Bumped by every revoke: a store read that raced with one is not cached (it may predate it). */
  private revocations = 0

  constructor(
    private readonly store: Pick<Store, 'sessions' | 'users' | 'onRevocation'>,
    private readonly audit: AuditLog,
    private readonly identities: Pick<Identities, 'current'>,
    private readonly lifetimeMs: number,
    private readonly now: () => number,
  ) {
    store.onRevocation((event) => this.revokedElsewhere(event))
  }

  /**
   * A new session, unless the user is disabled (ERR_LOGIN_DENIED, which the token endpoint answers as
   * `invalid_grant`). Checked again after the insert: a disable that ran in between has not seen this session.
   */
  async create(identity: Identity, auth: AuthContext | null, meta: SessionMeta): Promise<SessionRow> {
    const createdAt = this.now()
    const row: SessionRow = {
      id: randomId(18),
      identity,
      auth,
      grant: meta.grant,
      createdAt,
      expiresAt: createdAt + Math.min(this.lifetimeMs, meta.lifetimeMs ?? Infinity),
      revokedAt: null,
      revokedReason: null,
      clientIp: meta.clientIp,
      userAgent: meta.userAgent,
    }
    await this.insert(row, meta, (created) => this.store.sessions.create(created))
    return row
  }

  /**
   * The server-side session of a signed-in browser: made on its first use (a terminal, the hosts it lists),
   * the same one after that (its id derives from the browser session's), ending with the browser session.
   * Terminals run under it, their certificates belong to it (so they go on the KRL when it is revoked), and
   * signing out of the browser revokes it. Active, with the person re-resolved, or a 401 error.
   */
  async forBrowser(signedIn: BrowserSignIn, meta: Omit<SessionMeta, 'grant'>): Promise<SessionRow> {
    const id = browserSessionId(signedIn.idHash)
    if (!(await this.store.sessions.get(id))) {
      const createdAt = this.now()
      const row: SessionRow = {
        id, identity: signedIn.identity, auth: { ...signedIn.auth, webSession: signedIn.idHash }, grant: 'web', createdAt, expiresAt: signedIn.expiresAt,
        revokedAt: null, revokedReason: null, clientIp: meta.clientIp, userAgent: meta.userAgent,
      }
      await this.insert(row, { ...meta, grant: 'web' }, (created) => this.store.sessions.createIfAbsent(created))
    }
    return this.requireActive(id)
  }

  /** Stores a new session unless its person is disabled; checked again after the insert (a disable that ran in between has not seen it). */
  private async insert(row: SessionRow, meta: SessionMeta, write: (row: SessionRow) => Promise<unknown>): Promise<void> {
    const { identity } = row
    if (await this.store.users.isDisabled(identity.email)) throw await this.disabledRefusal(identity, meta)
    await write(row)
    if (await this.store.users.isDisabled(identity.email)) {
      await this.revoke(row.id, 'user disabled', { user: identity.email })
      throw await this.disabledRefusal(identity, meta)
    }
  }

  private async disabledRefusal(identity: Identity, meta: SessionMeta): Promise<JitsshError> {
    const reason = accountDisabledReason(identity.email)
    await this.audit.record({ type: 'token.denied', outcome: 'denied', user: identity.email, detail: { grant: meta.grant, reason, ip: meta.clientIp } })
    return new JitsshError('ERR_LOGIN_DENIED', reason)
  }

  /**
   * The session if it exists, is not revoked and has not ended, with the person as they are now (re-resolved
   * on every call: see identity/identities.ts); otherwise a 401 error that says which. A person who no longer
   * counts ends the session for good (revoked: its tunnels close, its certificates go on the KRL).
   */
  async requireActive(sessionId: string): Promise<SessionRow> {
    const now = this.now()
    const cached = this.cache.get(sessionId)
    let row = cached && cached.until > Date.now() ? cached.row : undefined
    if (!row) {
      const revocationsBefore = this.revocations
      row = await this.store.sessions.get(sessionId)
      if (row && revocationsBefore === this.revocations) this.cache.set(sessionId, { row, until: Date.now() + CACHE_MS })
      if (this.cache.size > 10_000) this.cache.clear()
    }
    if (!row) throw new JitsshError('ERR_NOT_LOGGED_IN', 'session not found', { hint: 'run: jitssh login' })
    if (row.revokedAt !== null) throw new JitsshError('ERR_SESSION_REVOKED', 'session has been revoked', { hint: 'run: jitssh login' })
    if (row.expiresAt <= now) throw new JitsshError('ERR_NOT_LOGGED_IN', 'session has ended', { hint: 'run: jitssh login' })
    if (row.grant === 'web' && row.auth?.webSession !== undefined && !(await this.store.sessions.getWeb(row.auth.webSession))) {
      // The browser signed out (here or on another replica), or signed in anew: its terminals end with it.
      await this.revoke(row.id, 'signed out', { user: row.identity.email })
      throw new JitsshError('ERR_SESSION_REVOKED', 'signed out of this browser', { hint: 'sign in again' })
    }
    let identity: Identity
    try {
      identity = await this.identities.current(row.identity, row.auth)
    } catch (error) {
      if (isJitsshError(error)) await this.revoke(row.id, error.message, { user: row.identity.email })
      throw error
    }
    return { ...row, identity }
  }

  /**
   * Revokes a session (idempotent), audits it once, ends the browser session that approved it, and tells the
   * listeners (live tunnels close).
   */
  async revoke(sessionId: string, reason: string, actor: { user: string | null; detail?: Record<string, unknown> }): Promise<boolean> {
    this.revocations++
    const changed = await this.store.sessions.revoke(sessionId, this.now(), reason)
    this.revocations++
    this.cache.delete(sessionId)
    // Live tunnels close now, with the reason, before anything else is awaited (the once-a-second sweep would
    // otherwise find the session revoked first and close them without saying why).
    for (const listener of this.revokeListeners) listener(sessionId, reason)
    if (changed) {
      const row = await this.store.sessions.get(sessionId)
      if (row?.auth?.webSession) await this.store.sessions.deleteWeb(row.auth.webSession)
      await this.audit.record({ type: 'session.revoke', outcome: 'ok', user: actor.user, sessionId, detail: { reason, ...actor.detail } })
    }
    return changed
  }

  /** Runs for every revocation of a session: made here (even a repeated one) or by another replica. Returns the unsubscribe. */
  onRevoke(listener: (sessionId: string, reason: string) => void): () => void {
    return subscribe(this.revokeListeners, listener)
  }

  /** Runs when another replica disabled a user (this replica's own disables revoke session by session). */
  onUserRevoke(listener: (user: string, reason: string) => void): () => void {
    return subscribe(this.userRevokeListeners, listener)
  }

  /** Runs when other replicas' revocations may have been missed: check every session still in use. */
  onResync(listener: () => void): () => void {
    return subscribe(this.resyncListeners, listener)
  }

  /** Another replica revoked something: forget what the cache says about it, then tell the listeners. */
  private revokedElsewhere(event: RevocationEvent): void {
    this.revocations++
    if (event.kind === 'session') {
      this.cache.delete(event.sessionId)
      for (const listener of this.revokeListeners) listener(event.sessionId, event.reason)
    } else if (event.kind === 'user') {
      for (const [id, entry] of this.cache) if (entry.row.identity.email === event.user) this.cache.delete(id)
      for (const listener of this.userRevokeListeners) listener(event.user, event.reason)
    } else if (event.kind === 'resync') {
      this.cache.clear()
      for (const listener of this.resyncListeners) listener()
    }
  }
}

function subscribe<T>(listeners: Set<T>, listener: T): () => void {
  listeners.add(listener)
  return () => void listeners.delete(listener)
}
