// Config reload without a restart (issue 13): a valid file applies to the next request and to live tunnels
// at once (a removed target or rule closes what it no longer allows, with the reason in the audit log); a
// bad file, or one that changes what only a restart can, is refused with the same errors as `check`, and
// the running configuration keeps serving. The real process reloads on SIGHUP, and on SIGTERM tells its
// clients why their tunnels end.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { parse, stringify } from 'yaml'
import { TUNNEL_CLOSE } from '../../src/shared/protocol.js'
import { adminCall, signFor } from '../helpers/admin.js'
import { listenOnLoopback, loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'
import { REPO_ROOT } from '../helpers/stack.js'

let echo: Server
let echoAddress: string
let srv: TestServer
let original: string

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket))
  echoAddress = `127.0.0.1:${await listenOnLoopback(echo)}`
  srv = await startTestServer({
    targets: { 'a.example.com': echoAddress, 'b.example.com': echoAddress },
    policy: [
      { name: 'a', groups: ['dev'], hosts: ['a.example.com'], principals: ['{email_local}'] },
      { name: 'b', groups: ['dev'], hosts: ['b.example.com'], principals: ['{email_local}'] },
    ],
    config: { admins: { users: ['bob'] } },
  })
  original = readFileSync(srv.configPath, 'utf8')
})
afterAll(async () => {
  await srv?.stop()
  echo?.close()
})

/** The config file with `change` applied to its YAML. */
function rewrite(change: (config: Record<string, unknown>) => void): void {
  const config = parse(original) as Record<string, unknown>
  change(config)
  writeFileSync(srv.configPath, stringify(config))
}

function tunnel(url: string, token: string, host: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/tunnel?host=${host}`, { headers: { authorization: `Bearer ${token}` } })
  return once(ws, 'open').then(() => ws)
}

const closed = (ws: WebSocket): Promise<{ code: number; reason: string }> =>
  once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }))

async function lastEvent(type: string, where: (detail: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown> | undefined> {
  const events = await srv.server.store.audit.read(0, 100_000)
  return events.filter((event) => event.type === type && where(event.detail)).at(-1) as Record<string, unknown> | undefined
}

describe('reloading the config', () => {
  it('removing a target closes its live tunnel at once (4003, reason in the audit log); the others keep running', async () => {
    const alice = await loginWithPassword(srv.url)
    const [toA, toB] = await Promise.all([tunnel(srv.url, alice.access_token, 'a.example.com'), tunnel(srv.url, alice.access_token, 'b.example.com')])
    const bClosed = closed(toB)
    rewrite((config) => void delete (config.targets as Record<string, string>)['b.example.com'])
    const outcome = await srv.server.reload()
    expect(outcome).toMatchObject({ ok: true, changed: ['targets'] })
    expect(await bClosed).toMatchObject({ code: TUNNEL_CLOSE.POLICY_DENIED, reason: expect.stringMatching(/^policy\.target_removed: b\.example\.com is not a target of this bastion/) })
    expect(toA.readyState).toBe(WebSocket.OPEN)
    const received = once(toA, 'message')
    toA.send(Buffer.from('still here'))
    expect(String((await received)[0])).toBe('still here')
    toA.close()
    expect(await lastEvent('tunnel.close', (detail) => String(detail.reason).startsWith('policy.target_removed'))).toBeDefined()
    expect(await lastEvent('config.reload')).toMatchObject({ outcome: 'ok', detail: { changed: ['targets'] } })
  })

  it('removing the rule closes the tunnels it allowed; the next signature is refused', async () => {
    rewrite(() => undefined)
    expect(await srv.server.reload()).toMatchObject({ ok: true })
    const alice = await loginWithPassword(srv.url)
    const toB = await tunnel(srv.url, alice.access_token, 'b.example.com')
    const bClosed = closed(toB)
    rewrite((config) => void (config.policy = (config.policy as Array<{ name: string }>).filter((rule) => rule.name !== 'b')))
    expect(await srv.server.reload()).toMatchObject({ ok: true, changed: ['policy'] })
    expect((await bClosed).reason).toMatch(/^policy\.no_rule: no policy rule grants alice@example\.com access to b\.example\.com/)
    expect((await signFor(srv.url, alice.access_token, 'b.example.com')).status).toBe(403)
    expect((await signFor(srv.url, alice.access_token, 'a.example.com')).status).toBe(200)
  })

  it('refuses a bad file with the error `check` gives, and keeps serving the running config', async () => {
    rewrite(() => undefined)
    await srv.server.reload()
    const alice = await loginWithPassword(srv.url)
    const toA = await tunnel(srv.url, alice.access_token, 'a.example.com')
    writeFileSync(srv.configPath, `${original}\npolicy: [unbalanced\n`)
    const refused = await srv.server.reload()
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.error).toMatch(/config\.yaml:\d+:\d+: not valid YAML/)
    rewrite((config) => void ((config.policy as Array<Record<string, unknown>>)[0]!.max_ttl = '5 minutes'))
    const badValue = await srv.server.reload()
    if (!badValue.ok) expect(badValue.error).toMatch(/config\.yaml: policy\[0\]\.max_ttl: expected a duration like "15m"/)
    expect(toA.readyState).toBe(WebSocket.OPEN)
    expect((await signFor(srv.url, alice.access_token, 'b.example.com')).status).toBe(200)
    expect(await lastEvent('config.reload')).toMatchObject({ outcome: 'error', detail: { reason: expect.stringContaining('max_ttl') } })
    toA.close()
  })

  it('refuses a file that changes what only a restart can, naming the keys', async () => {
    rewrite((config) => void (config.listen = '127.0.0.1:1'))
    const outcome = await srv.server.reload()
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/listen change only with a restart; the running configuration stays/) })
  })

  it('POST /v1/admin/reload: admins only, and it answers with what changed or why not', async () => {
    rewrite((config) => void (config.admins = { users: ['bob'], groups: ['auditors'] }))
    const [alice, bob] = await Promise.all([loginWithPassword(srv.url), loginWithPassword(srv.url, 'bob')])
    expect((await adminCall(srv.url, alice.access_token, 'reload', {})).status).toBe(403)
    expect(await adminCall(srv.url, bob.access_token, 'reload', {})).toMatchObject({ status: 200, body: { reloaded: true, changed: ['admins'] } })
    writeFileSync(srv.configPath, 'policy: [\n')
    const refused = await adminCall(srv.url, bob.access_token, 'reload', {})
    expect(refused).toMatchObject({ status: 400, body: { error: 'ERR_INVALID_CONFIG', message: expect.stringMatching(/not valid YAML/) } })
    rewrite(() => undefined)
  })
})

describe('the jitssh-server process', () => {
  let child: ChildProcess
  let log = ''
  let url: string

  const logged = (re: RegExp): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!re.test(log)) return
        child.stderr!.off('data', check)
        resolve()
      }
      child.stderr!.on('data', check)
      child.once('exit', () => reject(new Error(`exited before logging ${re}:\n${log}`)))
      check()
    })

  beforeAll(async () => {
    rewrite(() => undefined)
    child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'jitssh-server.js'), 'start', '--config', srv.configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log += chunk))
    await logged(/jitssh-server listening/)
    url = /"url":"(http:\/\/[^"]+)"/.exec(log)![1]!
  })
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })

  it('reloads on SIGHUP: a bad file is logged and refused, a good one applies', async () => {
    writeFileSync(srv.configPath, `${original}\nnot: valid: yaml: [\n`)
    child.kill('SIGHUP')
    await logged(/config reload refused; the running configuration stays/)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    rewrite((config) => void (config.targets = { ...(config.targets as object), 'c.example.com': echoAddress }))
    child.kill('SIGHUP')
    await logged(/"changed":\["targets"\].*config reloaded|config reloaded.*"changed":\["targets"\]/)
    expect(child.exitCode).toBeNull()
  })

  it('on SIGTERM, closes live tunnels saying why (1001), and exits 0', async () => {
    const alice = await loginWithPassword(url)
    const ws = await tunnel(url, alice.access_token, 'a.example.com')
    const wsClosed = closed(ws)
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    expect(await wsClosed).toEqual({ code: TUNNEL_CLOSE.GOING_AWAY, reason: 'the jitssh server is shutting down (a restart or an upgrade): connect again in a moment' })
    expect((await exited)[0]).toBe(0)
  })
})
