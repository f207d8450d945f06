import { EventEmitter } from 'node:events'

/** A live tunnel as the registry sees it. */
export interface LiveTunnel {
  id: number
  /** Its row in the store's live_tunnels (and `tunnel` in its audit events): how a crash is reconciled. */
  recordId: string
  sessionId: string
  user: string
  host: string
  /** The client's address at open: policy conditions on source networks are checked against it again. */
  sourceIp: string | undefined
  openedAt: number
  /** The access request whose grant allowed it; null under a standing rule. */
  grantId: string | null
  /** Closes the WebSocket with `code` and drops the TCP side at once. */
  close(code: number, reason: string): void
  /** Bytes carried so far (final once it is removed): up = client to target, down = target to client. */
  bytes(): { up: number; down: number }
}

/**
 * Every live tunnel of this process, by session and user, so a revocation (or the end of a session) can
 * close them: `closeSession`, `closeUser`. Emits 'added' and 'removed' (after the close is audited).
 */
export class TunnelRegistry extends EventEmitter<{ added: [LiveTunnel]; removed: [LiveTunnel] }> {
  private readonly tunnels = new Map<number, LiveTunnel>()
  private nextId = 1

  add(tunnel: Omit<LiveTunnel, 'id'>): LiveTunnel {
    const entry = { ...tunnel, id: this.nextId++ }
    this.tunnels.set(entry.id, entry)
    this.emit('added', entry)
    return entry
  }

  remove(id: number): void {
    const entry = this.tunnels.get(id)
    if (!entry) return
    this.tunnels.delete(id)
    this.emit('removed', entry)
  }

  get size(): number {
    return this.tunnels.size
  }

  list(): LiveTunnel[] {
    return [...this.tunnels.values()]
  }

  countForSession(sessionId: string): number {
    return this.list().filter((tunnel) => tunnel.sessionId === sessionId).length
  }

  /** Session ids with at least one live tunnel. */
  sessionIds(): string[] {
    return [...new Set(this.list().map((tunnel) => tunnel.sessionId))]
  }

  closeSession(sessionId: string, code: number, reason: string): number {
    return this.closeWhere((tunnel) => tunnel.sessionId === sessionId, code, reason)
  }

  closeGrant(grantId: string, code: number, reason: string): number {
    return this.closeWhere((tunnel) => tunnel.grantId === grantId, code, reason)
  }

  closeUser(user: string, code: number, reason: string): number {
    return this.closeWhere((tunnel) => tunnel.user === user, code, reason)
  }

  closeAll(code: number, reason: string): number {
    return this.closeWhere(() => true, code, reason)
  }

  private closeWhere(match: (tunnel: LiveTunnel) => boolean, code: number, reason: string): number {
    let closed = 0
    for (const tunnel of this.list()) {
      if (!match(tunnel)) continue
      tunnel.close(code, reason)
      closed++
    }
    return closed
  }
}
