// The checkpoint sinks' delivery queue: one line in flight, failures retried in order after a backoff, the
// queue bounded (oldest dropped and counted), and close() gives up on a delivery that never ends.
import { describe, expect, it } from 'vitest'
import { DeliveryQueue } from '../../src/server/http/delivery-queue.js'

function queue(deliver: (line: string, signal: AbortSignal) => Promise<void>, maxQueue = 3): { queue: DeliveryQueue; problems: string[] } {
  const problems: string[] = []
  return { queue: new DeliveryQueue({ name: 'test', maxQueue, deliver, onProblem: (message) => problems.push(message), backoff: { initialMs: 5, maxMs: 20 } }), problems }
}

describe('DeliveryQueue', () => {
  it('delivers in order, retrying a failed line before the ones behind it', async () => {
    const delivered: string[] = []
    let failuresLeft = 3
    const { queue: q, problems } = queue(async (line) => {
      if (line === 'b' && failuresLeft-- > 0) throw new Error('receiver down')
      delivered.push(line)
    })
    for (const line of ['a', 'b', 'c']) q.send(line)
    await q.close(5_000)
    expect(delivered).toEqual(['a', 'b', 'c'])
    expect(q.counts).toEqual({ delivered: 3, dropped: 0, failures: 3 })
    expect(problems).toHaveLength(3)
  })

  it('keeps at most maxQueue lines waiting behind a stuck one, and close() gives up on it', async () => {
    const { queue: q } = queue(() => new Promise<void>(() => undefined), 3) // never settles, ignores its signal
    for (let i = 0; i < 100; i++) q.send(`line ${i}`)
    expect(q.waiting).toBe(3)
    expect(q.counts.dropped).toBe(96)
    await q.close(10)
    expect(q.counts).toEqual({ delivered: 0, dropped: 100, failures: 0 })
    q.send('after close')
    expect(q.waiting).toBe(0)
  })

  it('with maxAttempts, gives up on a line that keeps failing and goes on with the next', async () => {
    const delivered: string[] = []
    const problems: string[] = []
    const q = new DeliveryQueue({
      name: 'hook', label: 'webhook https://hooks.example.com', maxQueue: 10, maxAttempts: 3, backoff: { initialMs: 1, maxMs: 2 },
      onProblem: (message) => problems.push(message),
      deliver: async (line) => {
        if (line === 'poison') throw new Error('HTTP 500')
        delivered.push(line)
      },
    })
    for (const line of ['a', 'poison', 'b']) q.send(line)
    await q.close(5_000)
    expect(delivered).toEqual(['a', 'b'])
    expect(q.counts).toEqual({ delivered: 2, dropped: 1, failures: 3 })
    expect(problems.at(-1)).toBe('webhook https://hooks.example.com failed 3 times; gave up on one line')
  })
})
