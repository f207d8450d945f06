// withAccessToken (src/client/auth/tokens.ts): the one retry-once-on-401 of the client, against a scripted
// token endpoint on loopback. The callers (ssh-gen's signing, the ProxyCommand's tunnel, the admin API) are
// tested end to end in test/integration and test/unit/client-tunnel.test.ts.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile, writeFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isJitsshError } from '../../src/shared/errors.js'
import { accessTokenPath } from '../../src/client/auth/credentials.js'
import { withAccessToken, type AccessTokenOptions } from '../../src/client/auth/tokens.js'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { HttpStatusError } from '../../src/client/http.js'
import { makeTempHome, removeTempHome, seedSession, testContext } from '../helpers/cli.js'

let home: string
let fake: Server
let server: string
let tokenAnswers: Array<[number, object]>
let refreshes: number

beforeEach(async () => {
  home = await makeTempHome()
  tokenAnswers = []
  refreshes = 0
  fake = createServer((req, res) => {
    req.resume().on('end', () => {
      const [status, body] = req.url === '/token' ? (refreshes++, tokenAnswers.shift() ?? [500, {}]) : [404, {}]
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    })
  })
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r))
  server = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
  await seedSession(home, server, { accessToken: 'cached', refreshToken: 'rt-1' })
})
afterEach(async () => {
  await new Promise((r) => fake.close(r))
  await removeTempHome(home)
})

const refused = () => new HttpStatusError('ERR_NOT_LOGGED_IN', 'not logged in', 401, { error: 'ERR_NOT_LOGGED_IN' }, 'run: jitssh login')
const fresh = (token: string) => [200, { access_token: token, token_type: 'Bearer', expires_in: 600, refresh_token: `${token}-rt`, session_expires_at: new Date(Date.now() + 3600_000).toISOString() }] as [number, object]

/** Runs withAccessToken with `answer` deciding each call by its token; returns the tokens it was called with. */
async function run(answer: (token: string) => Promise<string>, options: AccessTokenOptions = {}) {
  const { ctx, close } = testContext({ home })
  const tokens: string[] = []
  try {
    const result = await withAccessToken(ctx, jitsshPaths({}, home), server, options, (token) => {
      tokens.push(token)
      return answer(token)
    })
    return { result, tokens }
  } catch (error) {
    return { error, tokens }
  } finally {
    await close()
  }
}

describe('withAccessToken', () => {
  it('calls with the cached token and makes no request while it works', async () => {
    const { result, tokens } = await run(async (token) => `ok with ${token}`)
    expect(result).toBe('ok with cached')
    expect(tokens).toEqual(['cached'])
    expect(refreshes).toBe(0)
  })

  it('after a 401, refreshes once and calls again with the new token (which is kept)', async () => {
    tokenAnswers.push(fresh('new'))
    const { result, tokens } = await run(async (token) => {
      if (token === 'cached') throw refused()
      return `ok with ${token}`
    })
    expect(result).toBe('ok with new')
    expect(tokens).toEqual(['cached', 'new'])
    expect(refreshes).toBe(1)
    const cached = JSON.parse(await readFile(accessTokenPath(jitsshPaths({}, home), server), 'utf8')) as { access_token: string }
    expect(cached.access_token).toBe('new')
  })

  it('never a third time: a second 401 is the answer', async () => {
    tokenAnswers.push(fresh('new'))
    const { error, tokens } = await run(async () => {
      throw refused()
    })
    expect(tokens).toEqual(['cached', 'new'])
    expect(error).toBeInstanceOf(HttpStatusError)
    expect((error as HttpStatusError).status).toBe(401)
  })

  it('does not retry other failures (a 403 is the server\'s last word)', async () => {
    const denied = new HttpStatusError('ERR_POLICY_DENIED', 'denied', 403, {})
    const { error, tokens } = await run(async () => {
      throw denied
    })
    expect(error).toBe(denied)
    expect(tokens).toEqual(['cached'])
    expect(refreshes).toBe(0)
  })

  it('when the refresh shows the session has ended: ERR_SESSION_REVOKED without `login`, a login with it', async () => {
    tokenAnswers.push([400, { error: 'invalid_grant' }])
    const without = await run(async () => {
      throw refused()
    })
    expect(without.tokens).toEqual(['cached'])
    expect(isJitsshError(without.error, 'ERR_SESSION_REVOKED')).toBe(true)

    // The session is gone from disk now; seed it again and allow a login this time.
    await seedSession(home, server, { accessToken: 'cached', refreshToken: 'rt-2' })
    tokenAnswers.push([400, { error: 'invalid_grant' }])
    const said: string[] = []
    let logins = 0
    const ui = { info: (text: string) => void said.push(text), warn: (text: string) => void said.push(text), waiting: () => () => undefined }
    const login = {
      ui,
      perform: async () => {
        logins++
        await writeFile(accessTokenPath(jitsshPaths({}, home), server), JSON.stringify({ access_token: 'after-login', expires_at: Date.now() + 600_000, session_expires_at: new Date(Date.now() + 3600_000).toISOString() }))
      },
    }
    const withLogin = await run(async (token) => {
      if (token === 'cached') throw refused()
      return `ok with ${token}`
    }, { login })
    expect(withLogin.result).toBe('ok with after-login')
    expect(logins).toBe(1)
    expect(said).toContain(`Your session at ${server} has ended (the server no longer accepts it); logging in again.`)
  })

  it('an ended session is remembered as ended, whoever noticed it: later calls say so, and a login is still offered', async () => {
    tokenAnswers.push([400, { error: 'invalid_grant', error_description: 'session has been revoked' }])
    const first = await run(async () => {
      throw refused()
    })
    expect(isJitsshError(first.error, 'ERR_SESSION_REVOKED')).toBe(true)
    expect((first.error as Error).message).toBe(`your session at ${server} has ended (session has been revoked)`)
    const config = JSON.parse(await readFile(jitsshPaths({}, home).config, 'utf8')) as { servers: Record<string, { session_ended?: { reason: string }; credential_store?: string }> }
    expect(config.servers[server]?.session_ended?.reason).toBe('session has been revoked')
    expect(config.servers[server]?.credential_store).toBeUndefined()

    // The next caller without a login (status, the ProxyCommand) hears the same, not "not logged in".
    const second = await run(async () => 'unused')
    expect(isJitsshError(second.error, 'ERR_SESSION_REVOKED')).toBe(true)
    expect(refreshes).toBe(1)

    // ssh-gen on a terminal (a caller with `login`) logs in again.
    let logins = 0
    const said: string[] = []
    const login = {
      ui: { info: (text: string) => void said.push(text), warn: () => undefined, waiting: () => () => undefined },
      perform: async () => {
        logins++
        await writeFile(accessTokenPath(jitsshPaths({}, home), server), JSON.stringify({ access_token: 'after-login', expires_at: Date.now() + 600_000, session_expires_at: new Date(Date.now() + 3600_000).toISOString() }))
      },
    }
    const third = await run(async (token) => `ok with ${token}`, { login })
    expect(third.result).toBe('ok with after-login')
    expect(logins).toBe(1)
    expect(said).toEqual([`Your session at ${server} has ended (session has been revoked); logging in again.`])
  })

  it('a stored login that vanished (a keychain that forgets) counts as an ended session, not as "never logged in"', async () => {
    const paths = jitsshPaths({}, home)
    await writeFile(paths.credentials, JSON.stringify({ version: 1, servers: {} }))
    await writeFile(accessTokenPath(paths, server), '{}')
    const lost = await run(async () => 'unused')
    expect(isJitsshError(lost.error, 'ERR_SESSION_REVOKED')).toBe(true)
    expect((lost.error as Error).message).toMatch(/has ended \(the stored login is gone from the credentials file\)/)
    expect(refreshes).toBe(0)
  })
})
