import { JitsshError } from '../shared/errors.js'

/** `promise`, or ERR_INTERRUPTED as soon as `signal` aborts; leaves no listener or rejection behind. */
export async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, message = 'interrupted'): Promise<T> {
  if (signal.aborted) throw new JitsshError('ERR_INTERRUPTED', message)
  let onAbort: () => void = () => undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new JitsshError('ERR_INTERRUPTED', message))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
