import { EventEmitter } from 'node:events'

/** A live connection to a target as the registry sees it: a tunnel of the bastion, or a browser terminal. */
export interface LiveTunnel {
  id: number
  /** `tunnel`: the CLI's ProxyCommand through /v1/tunnel; `terminal`: a browser terminal's ssh. */
  kind: 'tunnel' | 'terminal'
  /** Its row in the store's live_tunnels (and `tunnel` in its audit events): how a crash is reconciled. Tunnels only: browser terminals are not reconciled. */
  recordId?: string
  sessionId: string
  user: string
  host: string
  /** The client's address at open: policy conditions on source networks are checked against it again. */
  sourceIp: string | undefined
  openedAt: number
  /** The access request whose grant allowed it; null under a standing rule. */
  grantId: string | null
  /** Closes the WebSocket with `code` and drops the connection to the target at once. */
  close(code: number, reason: string): void
  /** Bytes carried so far (final once it is removed): up = client to target (a terminal: keystrokes), down = back. */
  bytes(): { up: number; down: number }
}

/**
 * Every live tunnel and terminal of this process, by session and user, so a revocation (or the end of a
 * session) can close them: `closeSession`, `closeUser`. Emits 'added' and 'removed' (after the close is audited).
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

  /** Every live one, or those of one kind. */
  list(kind?: LiveTunnel['kind']): LiveTunnel[] {
    const all = [...this.tunnels.values()]
    return kind === undefined ? all : all.filter((tunnel) => tunnel.kind === kind)
  }

  countForSession(sessionId: string, kind?: LiveTunnel['kind']): number {
    return this.list(kind).filter((tunnel) => tunnel.sessionId === sessionId).length
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

  /** The tunnels with a row in the store's live_tunnels (those a crash reconciles), for the replica heartbeat. */
  recorded(): Array<LiveTunnel & { recordId: string }> {
    return this.list('tunnel').filter((tunnel): tunnel is LiveTunnel & { recordId: string } => tunnel.recordId !== undefined)
  }

  /** Closes the recorded tunnels: another process took this one for dead and closed their records. */
  closeRecorded(code: number, reason: string): number {
    return this.closeWhere((tunnel) => tunnel.recordId !== undefined, code, reason)
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
