// A time limit on one wait for the network (JITSSH_HTTP_TIMEOUT_MS). The timer is held here and aborts an
// AbortController held here, and done() clears both. Not AbortSignal.timeout() inside AbortSignal.any():
// Node 20 holds that timeout signal weakly, a garbage collection while the request waits takes it, and then
// nothing ever aborts (nodejs/node#57736): a stalled server hung `jitssh ssh-gen`, and with it every ssh.

export interface Deadline {
  /** Aborts when the time is up or when the parent signal aborts. */
  readonly signal: AbortSignal
  /** The time ran out (as opposed to the parent aborting, or nothing yet). */
  readonly expired: boolean
  /** The time limit, in ms. */
  readonly ms: number
  /** Clears the timer and the listener on the parent; call it however the wait ended. */
  done(): void
}

export function startDeadline(parent: AbortSignal, ms: number): Deadline {
  const controller = new AbortController()
  let expired = false
  const onParentAbort = () => controller.abort(parent.reason)
  const timer = setTimeout(() => {
    expired = true
    controller.abort(new DOMException(timedOut(ms), 'TimeoutError'))
  }, ms)
  if (parent.aborted) onParentAbort()
  else parent.addEventListener('abort', onParentAbort, { once: true })
  return {
    signal: controller.signal,
    get expired() {
      return expired
    },
    ms,
    done: () => {
      clearTimeout(timer)
      parent.removeEventListener('abort', onParentAbort)
    },
  }
}

/** `timed out after 15 s` (or `0.4 s`): how errors name an expired deadline. */
export function timedOut(ms: number): string {
  return `timed out after ${Number((ms / 1000).toFixed(3))} s`
}
