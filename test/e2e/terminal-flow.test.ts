/**
 * The browser terminal's server side against a real sshd, driven through its WebSocket as the page's script
 * drives it (test/helpers/terminal.ts): flow control under a multi-megabyte `cat` (every byte arrives, the
 * server's unacked bytes stay under the high watermark plus one read), keystrokes recorded only when the policy
 * rule asks, and the terminal's end when the browser signs out or the person no longer counts.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAsciicast } from '../../src/shared/asciicast.js'
import { TERMINAL_HIGH_WATER, TERMINAL_LOW_WATER } from '../../src/shared/terminal-protocol.js'
import type { ClosedTerminal } from '../../src/server/terminal/terminal-service.js'
import type { Store } from '../../src/server/store/store.js'
import { csrfTokenOf, DEFAULT_USERS, loginWithPassword } from '../helpers/server.js'
import { startStack, VM_HOST, type Stack } from '../helpers/stack.js'
import { connectTerminal, openTerminalPage, signedInBrowser, type TerminalClient } from '../helpers/terminal.js'

let stack: Stack
let dir: string
const OTHER_HOST = 'db.example.com'
/** Reached only through an approved access request (approved by bob, of ops). */
const VAULT_HOST = 'vault.example.com'

beforeAll(async () => {
  const login = userInfo().username // the test sshd's only account
  stack = await startStack({
    hosts: [VM_HOST, OTHER_HOST, VAULT_HOST],
    policy: [
      { name: 'vault-on-request', groups: ['dev'], hosts: [VAULT_HOST], principals: [login], max_ttl: '10m', request: { approvers: { groups: ['ops'] }, reason: 'optional' } },
      { name: 'vm', groups: ['dev'], hosts: [VM_HOST], principals: [login], max_ttl: '10m' },
      { name: 'db-with-keystrokes', groups: ['dev'], hosts: [OTHER_HOST], principals: [login], max_ttl: '10m', record_input: true },
    ],
  })
  dir = mkdtempSync(join(tmpdir(), 'jitssh-terminal-flow-'))
}, 60_000)
afterAll(async () => {
  await stack?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const url = (): string => stack.server.url
const terminals = () => stack.server.server.context.terminals

async function open(host = VM_HOST, options: { ack?: boolean; ackDelayMs?: number; collect?: boolean } = {}): Promise<TerminalClient> {
  const browser = await signedInBrowser(url())
  const page = await openTerminalPage(browser, url(), host)
  expect(page.status, page.html).toBe(200)
  const client = await connectTerminal(browser, page, { origin: url(), ...options })
  if (!('ws' in client)) throw new Error(`terminal refused: ${JSON.stringify(client)}`)
  return client
}

async function castOf(store: Store, id: string): Promise<string> {
  return (await store.recordings.chunks(id, -1, 10_000)).map((chunk) => chunk.data).join('')
}

describe('flow control', { timeout: 120_000 }, () => {
  it('cat of a 4 MB file: every byte arrives, and the unacked bytes never exceed the high watermark plus one read', async () => {
    const content = randomBytes(3 * 1024 * 1024).toString('base64') // 4 MiB of text, no newline for the PTY to rewrite
    const file = join(dir, 'big.txt')
    writeFileSync(file, content)
    // The page acks 100 ms after receiving, as a browser that draws slower than the network does.
    const client = await open(VM_HOST, { collect: true, ackDelayMs: 100 })
    const closed = once(terminals(), 'closed') as Promise<[ClosedTerminal]>
    const started = performance.now()
    // `exit` right after: the end of the output must not be lost when ssh exits (see terminal/node-pty.ts).
    client.type(`cat ${file}; echo; echo END-OF-CAT; exit\r`)
    await client.waitFor(/\r\nEND-OF-CAT\r\n/, 90_000)
    const [terminal] = await closed
    const seconds = (performance.now() - started) / 1000
    expect(client.output()).toContain(content)
    const { flow } = terminal
    console.log(`cat of ${(content.length / 1048576).toFixed(1)} MiB: ${seconds.toFixed(1)} s; unacked bytes at most ${flow.maxPending} (high watermark ${TERMINAL_HIGH_WATER}, largest read ${flow.maxChunk})`)
    expect(flow.maxChunk).toBeLessThanOrEqual(64 * 1024)
    expect(flow.maxPending).toBeLessThanOrEqual(TERMINAL_HIGH_WATER + flow.maxChunk)
    expect(flow.maxPending).toBeGreaterThan(TERMINAL_LOW_WATER) // the page fell behind: flow control was at work
    const cast = parseAsciicast(await castOf(stack.server.server.store, terminal.recording!.id))
    expect(cast.events.filter((event) => event.type === 'o').map((event) => event.data).join('')).toContain(content)
  })

  it('a page that never acks gets no more than the high watermark plus one read: the PTY is paused, then resumes on acks', async () => {
    const client = await open(VM_HOST, { ack: false, collect: false })
    client.type(`yes jitssh-flow-control | head -c 20000000; exit\r`)
    const id = stack.server.server.context.tunnels.list('terminal')[0]!.id
    const live = () => terminals().flow(id)!
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (live().paused) {
          clearInterval(check)
          resolve()
        }
      }, 20)
    })
    const pausedAt = client.received()
    await new Promise((resolve) => setTimeout(resolve, 500)) // the PTY stays paused: nothing more arrives
    expect(client.received()).toBe(pausedAt)
    expect(pausedAt).toBeLessThanOrEqual(TERMINAL_HIGH_WATER + live().maxChunk)
    client.ws.send(JSON.stringify({ t: 'a', n: client.received() }))
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (client.received() > pausedAt) {
          clearInterval(check)
          resolve()
        }
      }, 20)
    })
    client.ws.close()
    await client.closed
  })
})

describe('recording', { timeout: 60_000 }, () => {
  it('records no keystrokes by default; a rule with record_input: true records them as "i" events', async () => {
    for (const [host, expectInput] of [[VM_HOST, false], [OTHER_HOST, true]] as const) {
      const secret = `typed-${randomBytes(4).toString('hex')}`
      const client = await open(host)
      const closed = once(terminals(), 'closed') as Promise<[ClosedTerminal]>
      client.type(`: ${secret}; exit\r`)
      const [terminal] = await closed
      const cast = parseAsciicast(await castOf(stack.server.server.store, terminal.recording!.id))
      const inputs = cast.events.filter((event) => event.type === 'i')
      expect(inputs.length > 0, host).toBe(expectInput)
      if (expectInput) expect(inputs.map((event) => event.data).join('')).toContain(secret)
      expect((await stack.server.server.store.recordings.get(terminal.recording!.id))?.recordInput).toBe(expectInput)
    }
  })
})

describe('the terminal ends with the browser session and the person', { timeout: 60_000 }, () => {
  it('signing out of the browser closes its terminal within a second, with the reason', async () => {
    const browser = await signedInBrowser(url())
    const page = await openTerminalPage(browser, url(), VM_HOST)
    const client = await connectTerminal(browser, page, { origin: url() })
    if (!('ws' in client)) throw new Error('refused')
    client.type('echo ready-to-sign-out\r')
    await client.waitFor('ready-to-sign-out\r\n')
    const logout = await (await browser.request(`${url()}/logout`)).text()
    const started = performance.now()
    await browser.request(`${url()}/logout`, { form: { csrf_token: csrfTokenOf(logout) } })
    const { code, reason } = await client.closed
    const ms = performance.now() - started
    console.log(`sign-out -> terminal closed: ${ms.toFixed(0)} ms (${code} ${reason})`)
    expect(ms).toBeLessThan(1000)
    expect(code).toBe(4001)
    expect(reason).toBe('session revoked: signed out')
  })

  it('a person who no longer counts (gone from the running config) loses the terminal at the next check, within a second or two', async () => {
    const client = await open()
    client.type('echo still-here\r')
    await client.waitFor('still-here\r\n')
    const { context } = stack.server.server
    const original = context.config
    const withoutAlice = DEFAULT_USERS.filter((user) => user.username !== 'alice').map((user) => user.username)
    const local = original.identity.local!
    context.config = { ...original, identity: { ...original.identity, local: { users: local.users.filter((user) => withoutAlice.includes(user.username)) } } }
    try {
      const started = performance.now()
      const { code, reason } = await client.closed
      console.log(`person removed from the config -> terminal closed: ${(performance.now() - started).toFixed(0)} ms (${code} ${reason})`)
      expect(code).toBe(4001)
      expect(reason).toMatch(/alice@example\.com is no longer a user of this server/)
    } finally {
      context.config = original
    }
  })

  it('an access grant revoked while its browser terminal runs closes it within a second, with the reason', async () => {
    const call = async (user: string, path: string, body: unknown): Promise<{ request?: { id: string }; state?: string }> => {
      const { access_token: token } = await loginWithPassword(url(), user)
      const response = await fetch(`${url()}/v1/${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return (await response.json()) as { request?: { id: string }; state?: string }
    }
    const id = (await call('alice', 'requests', { host: VAULT_HOST, duration_seconds: 600 })).request!.id
    expect((await call('bob', `requests/${id}/review`, { decision: 'approve' })).state).toBe('approved')
    const client = await open(VAULT_HOST)
    client.type('echo in-the-vault\r')
    await client.waitFor('in-the-vault\r\n')
    const started = performance.now()
    expect((await call('bob', `requests/${id}/revoke`, { reason: 'incident closed' })).state).toBe('revoked')
    const { code, reason } = await client.closed
    const ms = performance.now() - started
    console.log(`grant revoked -> terminal closed: ${ms.toFixed(0)} ms (${code} ${reason})`)
    expect(ms).toBeLessThan(1000)
    expect(code).toBe(4003)
    expect(reason).toBe(`grant.revoked: access grant ${id} was revoked: incident closed`)
    const opened = (await stack.server.server.store.audit.read(0, 100_000)).filter((event) => event.type === 'access_request.activated' && event.detail.request_id === id)
    expect(opened.map((event) => event.detail.action)).toEqual(['terminal'])
  })
})
