/** Query and row shapes of the admin API's store methods (issue 6). Times are Unix ms unless named otherwise. */

/**
 * An audit search. Every filter given must match (AND); within `types`, any (OR). Exact matches on the
 * stored columns, so a search returns exactly the events that match.
 */
export interface AuditQuery {
  /** The event's `user` column (a lower-case email). */
  user?: string
  /** The event's `host` column (a lower-case host name). */
  host?: string
  /** Event types: `tunnel.open` matches that type; a family such as `tunnel` matches `tunnel` and `tunnel.*`. */
  types?: string[]
  /** ISO 8601 UTC with milliseconds (as stored): events at or after it. */
  since?: string
  /** ISO 8601 UTC with milliseconds: events strictly before it. */
  until?: string
  /** Newest first (`desc`, seq descending) or oldest first (`asc`). */
  order: 'asc' | 'desc'
  /** Paging: only events after this seq in the chosen order (exclusive). */
  afterSeq?: number
  limit: number
}

export interface SessionQuery {
  /** The server's clock, to tell active sessions from ended ones. */
  now: number
  /** Also sessions that are revoked or have ended. */
  includeEnded: boolean
  userEmail?: string
  limit: number
}

/** Recordings matching every filter given, newest first. */
export interface RecordingQuery {
  userEmail?: string
  host?: string
  /** Started at or after (Unix ms). */
  since?: number
  /** Started before (Unix ms). */
  until?: number
  limit: number
}

/** A user an admin disabled (or enabled again: `disabled` false keeps the row, for the KRL version). */
export interface DisabledUserRow {
  email: string
  disabled: boolean
  changedAt: number
  changedBy: string | null
  reason: string | null
}

/** What the KRL is built from: serials of unexpired certificates of revoked sessions or disabled users. */
export interface RevokedCertificates {
  serials: string[]
  /** A number that grows with every revocation, disable or enable: max of those times (Unix ms), 0 when none. */
  version: number
}
