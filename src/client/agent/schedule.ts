// When `jitssh agent` renews a certificate, from the certificate itself: a third of the way into the life it
// had left when it arrived (a 30 s certificate after 10 s), so two thirds remain for retries; after a failed
// attempt, again within a third of what is left (at most 5 s, at least 1 s away), until it has expired.

/** Retries after a failure come at least this often. */
export const MAX_RETRY_MS = 5_000
export const MIN_RETRY_MS = 1_000

/** When to renew a certificate valid until `validBeforeMs`, received at `nowMs`. */
export function renewalTime(validBeforeMs: number, nowMs: number): number {
  return nowMs + Math.max(0, validBeforeMs - nowMs) / 3
}

/** When to try again after a failed renewal; undefined when the certificate has expired (the agent gives up). */
export function retryTime(validBeforeMs: number, nowMs: number): number | undefined {
  const left = validBeforeMs - nowMs
  if (left <= 0) return undefined
  return nowMs + Math.min(left, Math.max(MIN_RETRY_MS, Math.min(MAX_RETRY_MS, left / 3)))
}
