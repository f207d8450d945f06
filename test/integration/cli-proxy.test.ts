// HTTPS_PROXY / HTTP_PROXY / NO_PROXY: HTTP requests (src/cli/node-fetch.ts) and the tunnel
// (our CONNECT) take the same route, through a tiny CONNECT proxy on 127.0.0.1.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeTempHome, removeTempHome, runCli } from '../helpers/cli.js'
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { createStubBrowser } from '../helpers/stub-browser.js'

let srv: TestServer
let target: Server
let home: string
let proxyUrl: string
let proxy: ConnectProxy

beforeAll(async () => {
  target = createServer((socket: Socket) => socket.once('data', () => socket.end('pong\n')))
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r))
  srv = await startTestServer({ targets: { 'echo.example.com': `127.0.0.1:${(target.address() as AddressInfo).port}` } })
  proxy = await startConnectProxy()
  proxyUrl = proxy.url
  home = await makeTempHome()
  const browser = createStubBrowser()
  const r = await runCli(['login', '--server', srv.url], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open })
  expect(r.code, r.stderr).toBe(0)
})
afterAll(async () => {
  await proxy.close()
  await srv.stop()
  await new Promise((r) => target.close(r))
  await removeTempHome(home)
})

const serverAuthority = () => new URL(srv.url).host

describe('proxy settings', () => {
  it('HTTP requests and the tunnel go through HTTP_PROXY', async () => {
    proxy.connects.length = 0
    const env = { HTTP_PROXY: proxyUrl, NO_PROXY: '' }
    const status = await runCli(['status', '--json'], { home, env })
    expect(JSON.parse(status.stdout).identity.email).toBe('alice@example.com')
    const gen = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home, env })
    expect(gen.code, gen.stderr).toBe(0)
    const httpConnects = proxy.connects.length
    expect(httpConnects).toBeGreaterThan(0)
    // The requests themselves crossed the proxy, not only its CONNECT.
    const afterHttp = proxy.carried()
    expect(afterHttp).toBeGreaterThan(200)
    const stdin = new PassThrough()
    stdin.write('ping\n')
    const ssh = await runCli(['ssh', '--hostname', 'echo.example.com'], { home, env, stdin })
    expect(ssh.code, ssh.stderr).toBe(0)
    expect(ssh.stdout).toBe('pong\n')
    expect(proxy.connects.length).toBe(httpConnects + 1)
    expect(proxy.carried()).toBeGreaterThan(afterHttp)
    expect(new Set(proxy.connects)).toEqual(new Set([serverAuthority()]))
  })

  it('NO_PROXY keeps both direct', async () => {
    proxy.connects.length = 0
    const env = { HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' }
    expect((await runCli(['status'], { home, env })).code).toBe(0)
    const stdin = new PassThrough()
    stdin.write('ping\n')
    expect((await runCli(['ssh', '--hostname', 'echo.example.com'], { home, env, stdin })).stdout).toBe('pong\n')
    expect(proxy.connects).toEqual([])
  })

  it('a proxy that is down: one line naming the problem', async () => {
    const env = { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' }
    const stdin = new PassThrough()
    const r = await runCli(['ssh', '--hostname', 'echo.example.com'], { home, env, stdin })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^jitssh: cannot reach the proxy 127\.0\.0\.1:9: ECONNREFUSED/)
  })
})
