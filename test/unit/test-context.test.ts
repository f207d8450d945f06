// The test context (test/helpers/cli.ts) fails closed: a request to anything but loopback, or any request
// under `network: 'none'`, fails with an Error naming the URL, and runCli fails the test even when the
// command carried on without an answer.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { makeTempHome, removeTempHome, runCli, seedSession, testContext } from '../helpers/cli.js'

let home: string
beforeEach(async () => {
  home = await makeTempHome()
})
afterEach(async () => {
  await removeTempHome(home)
})

describe('testContext fetch', () => {
  it('allows loopback origins only by default, and nothing with network: none', async () => {
    const server = createServer((_req, res) => res.end('{}'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const open = testContext({ home })
    const none = testContext({ home, network: 'none' })
    try {
      expect((await open.ctx.fetch(local)).status).toBe(200)
      await expect(open.ctx.fetch('https://access.example.com/.well-known/jitssh')).rejects.toThrow('https://access.example.com/.well-known/jitssh')
      await expect(open.ctx.fetch('http://10.0.0.1/')).rejects.toThrow(/non-loopback.*http:\/\/10\.0\.0\.1\//)
      await expect(none.ctx.fetch(local)).rejects.toThrow(local)
      expect(open.refused).toEqual(['https://access.example.com/.well-known/jitssh', 'http://10.0.0.1/'])
      expect(none.refused).toEqual([local])
    } finally {
      await Promise.all([open.close(), none.close(), new Promise((r) => server.close(r))])
    }
  })

  it('runCli fails the test when the command made an unexpected request, even one it got over', async () => {
    // status shows "identity unknown" when the server does not answer, and exits 0: the refusal must not hide there.
    await seedSession(home, 'https://access.example.com', { accessToken: 'token', refreshToken: 'rt' })
    await expect(runCli(['status'], { home })).rejects.toThrow(/made unexpected network requests: https:\/\/access\.example\.com\/v1\/me/)
  })
})
