/**
 * Revocations that other replicas made, as the store tells them to this process (PostgreSQL: LISTEN/NOTIFY
 * on `jitssh_revocations`). A replica drops its session cache for what changed and closes the live tunnels.
 */
export type RevocationEvent =
  /** A session was revoked (admin, logout, refresh-token reuse, ...). */
  | { kind: 'session'; sessionId: string; reason: string }
  /** A user was disabled: every tunnel of theirs goes, whatever its session. */
  | { kind: 'user'; user: string; reason: string }
  /** An access grant was revoked: its tunnels close, whatever their session. */
  | { kind: 'grant'; grantId: string; reason: string }
  /**
   * The subscription was lost and is back: events in between may be missed, so every cached session and
   * every live tunnel's session must be checked against the store again.
   */
  | { kind: 'resync' }

export type RevocationListener = (event: RevocationEvent) => void

/** A plain listener list; a throwing listener does not keep the others from hearing the event. */
export class RevocationListeners {
  private readonly listeners = new Set<RevocationListener>()

  add(listener: RevocationListener): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }

  emit(event: RevocationEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event)
      } catch {
        // A listener's own failure is its business; the fan-out goes on.
      }
    }
  }
}
