// jitssh ssh-gen and jitssh ssh, in-process against the real server and its bastion.
import { execFileSync } from 'node:child_process'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parseCertificate } from '../../src/ssh/certificate.js'
import { parsePrivateKey } from '../../src/ssh/keys.js'
import { accessTokenPath } from '../../src/client/auth/credentials.js'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { makeTempHome, removeTempHome, runCli, snapshotTree } from '../helpers/cli.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { createStubBrowser } from '../helpers/stub-browser.js'

let srv: TestServer
let target: Server
let home: string
let closedPort: number
const received: string[] = []

/** A stand-in for a target sshd: answers "ping" with "pong" and hangs up. */
async function startTarget(): Promise<Server> {
  const server = createServer((socket: Socket) => {
    let data = ''
    socket.on('data', (chunk) => {
      data += chunk.toString()
      if (data.includes('ping\n')) {
        received.push(data)
        socket.end('pong\n')
      }
    })
    socket.on('error', () => undefined)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return server
}

beforeAll(async () => {
  target = await startTarget()
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  closedPort = (probe.address() as AddressInfo).port
  await new Promise((r) => probe.close(r))
  srv = await startTestServer({
    targets: {
      'echo.example.com': `127.0.0.1:${(target.address() as AddressInfo).port}`,
      'down.example.com': `127.0.0.1:${closedPort}`,
    },
  })
})
afterAll(async () => {
  await srv.stop()
  await new Promise((r) => target.close(r))
})
beforeEach(async () => {
  home = await makeTempHome()
})
afterEach(async () => {
  await removeTempHome(home)
})

const paths = () => jitsshPaths({}, home)
async function login(): Promise<void> {
  const browser = createStubBrowser()
  const r = await runCli(['login', '--server', srv.url], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open })
  expect(r.code, r.stderr).toBe(0)
}
async function auditCount(type: string): Promise<number> {
  return (await srv.server.store.audit.read(0, 100_000)).filter((e) => e.type === type).length
}
const refreshToken = async () => (JSON.parse(await readFile(paths().credentials, 'utf8')) as any).servers[srv.url].refresh_token as string

describe('jitssh ssh-gen', () => {
  it('issues a key and certificate that belong together, then reuses them without asking the server', async () => {
    await login()
    const signsBefore = await auditCount('cert.sign')
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('')
    const keyFile = join(paths().certs, 'vm.example.com')
    const certFile = `${keyFile}-cert.pub`
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    expect((await stat(paths().certs)).mode & 0o777).toBe(0o700)
    const key = parsePrivateKey(await readFile(keyFile, 'utf8'))
    const cert = parseCertificate(await readFile(certFile, 'utf8'))
    expect(cert.publicKey.blob.equals(key.publicKey.blob)).toBe(true)
    expect(cert.type).toBe('user')
    expect(cert.principals).toEqual(['alice'])
    expect(Number(cert.validBefore) * 1000).toBeGreaterThan(Date.now() + 30 * 60_000)
    // ssh-keygen agrees (the oracle)
    expect(execFileSync('ssh-keygen', ['-L', '-f', certFile]).toString()).toMatch(/Type: ssh-ed25519-cert-v01@openssh.com user certificate[\s\S]*Principals:\s+alice/)
    expect(await auditCount('cert.sign')).toBe(signsBefore + 1)

    const again = await runCli(['ssh-gen', '--hostname', 'VM.Example.com'], { home })
    expect(again.code).toBe(0)
    expect(await auditCount('cert.sign')).toBe(signsBefore + 1)
  })

  it('--ttl asks for a shorter certificate, which the policy caps; a bad --ttl is a usage error that signs nothing', async () => {
    await login()
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com', '--ttl', '5m'], { home })
    expect(r.code, r.stderr).toBe(0)
    const cert = parseCertificate(await readFile(join(paths().certs, 'vm.example.com-cert.pub'), 'utf8'))
    expect(Number(cert.validBefore) * 1000 - Date.now()).toBeGreaterThan(4 * 60_000)
    expect(Number(cert.validBefore) * 1000 - Date.now()).toBeLessThanOrEqual(5 * 60_000 + 2_000)
    // Asking for more than the rule's max_ttl (1h) gets the rule's max_ttl.
    await rm(join(paths().certs, 'vm.example.com-cert.pub'))
    expect((await runCli(['ssh-gen', '--hostname', 'vm.example.com', '--ttl', '7d'], { home })).code).toBe(0)
    const capped = parseCertificate(await readFile(join(paths().certs, 'vm.example.com-cert.pub'), 'utf8'))
    expect(Number(capped.validBefore) * 1000 - Date.now()).toBeLessThanOrEqual(3_600_000 + 2_000)
    const signs = await auditCount('cert.sign')
    const bad = await runCli(['ssh-gen', '--hostname', 'other.example.com', '--ttl', '30s'], { home })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe('jitssh: --ttl: expected a duration from 1m to 7d like 15m, not "30s"\n')
    expect(await auditCount('cert.sign')).toBe(signs)
  })

  it('status lists the certificate with its expiry and principals', async () => {
    await login()
    await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home })
    const text = await runCli(['status'], { home })
    expect(text.stdout).toMatch(/^ {2}vm\.example\.com {2}valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \(in (\d+h )?\d+m\) {2}principals: alice$/m)
    const json = JSON.parse((await runCli(['status', '--json'], { home })).stdout)
    expect(json.certificates).toEqual([expect.objectContaining({ host: 'vm.example.com', valid: true, principals: ['alice'] })])
  })

  it('parallel ssh-gen runs after the session ended cause one login, then all succeed', async () => {
    await login()
    await fetch(`${srv.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: await refreshToken(), client_id: 'jitssh-cli' }) })
    await rm(accessTokenPath(paths(), srv.url))
    const browser = createStubBrowser()
    const logins = await auditCount('login')
    const hosts = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com', 'e.example.com']
    const results = await Promise.all(hosts.map((host) => runCli(['ssh-gen', '--hostname', host, '--server', srv.url], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open, isTTY: true })))
    expect(results.map((r) => r.code)).toEqual(hosts.map(() => 0))
    expect(browser.opened).toHaveLength(1)
    expect(await auditCount('login')).toBe(logins + 1)
  })

  it('Ctrl-C while waiting for the browser: exit 130, nothing kept', async () => {
    const controller = new AbortController()
    const browser = createStubBrowser({ idle: true })
    const r = await runCli(['login', '--server', srv.url], {
      home, env: { DISPLAY: ':0' }, signal: controller.signal,
      openBrowser: async (url) => {
        await browser.open(url)
        setTimeout(() => controller.abort(), 50)
      },
    })
    expect(r.code).toBe(130)
    expect(r.stderr).toMatch(/jitssh: login interrupted\n$/)
    await expect(stat(paths().credentials)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('a certificate inside the margin is replaced by a new key and certificate', async () => {
    await login()
    await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home })
    const keyFile = join(paths().certs, 'vm.example.com')
    const firstKey = await readFile(keyFile, 'utf8')
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home, env: { JITSSH_CERT_MARGIN: '7200' } })
    expect(r.code).toBe(0)
    const key = parsePrivateKey(await readFile(keyFile, 'utf8'))
    expect(await readFile(keyFile, 'utf8')).not.toBe(firstKey)
    expect(parseCertificate(await readFile(`${keyFile}-cert.pub`, 'utf8')).publicKey.blob.equals(key.publicKey.blob)).toBe(true)
  })

  it('a CA that changed since discovery was cached: asks the server again, then accepts', async () => {
    await login()
    const config = JSON.parse(await readFile(paths().config, 'utf8'))
    const real = config.servers[srv.url].discovery.jitssh.user_ca_public_key as string
    config.servers[srv.url].discovery.jitssh.user_ca_public_key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl old-ca'
    await writeFile(paths().config, JSON.stringify(config))
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(await readFile(paths().config, 'utf8')).servers[srv.url].discovery.jitssh.user_ca_public_key).toBe(real)
  })

  it('refreshes an expired access token silently (and rotates the refresh token)', async () => {
    await login()
    const before = await refreshToken()
    const cached = JSON.parse(await readFile(accessTokenPath(paths(), srv.url), 'utf8'))
    await writeFile(accessTokenPath(paths(), srv.url), JSON.stringify({ ...cached, expires_at: Date.now() - 1000 }))
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(await refreshToken()).not.toBe(before)
  })

  it('on a terminal, logs in from inside ssh when the session is gone (talking on stderr), then issues', async () => {
    await login()
    // The session ends at the server: revoke the refresh token, forget the access token.
    await fetch(`${srv.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: await refreshToken(), client_id: 'jitssh-cli' }) })
    await rm(accessTokenPath(paths(), srv.url))
    // Without a terminal (VS Code's `ssh -G`, a script): one line and exit 4 at once, no login started...
    const browser = createStubBrowser()
    const started = Date.now()
    const quiet = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open })
    expect(quiet.code).toBe(4)
    expect(quiet.stderr).toMatch(/^jitssh: your session at http:\/\/127\.0\.0\.1:\d+ has ended \(.+\) \(run: jitssh login\)\n$/)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(browser.opened).toEqual([])
    // ...and the ended session is remembered, so that the next ssh-gen on a terminal still logs in.
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open, isTTY: true })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/has ended \(.+\); logging in again/)
    expect(browser.opened).toHaveLength(1)
    await stat(join(paths().certs, 'vm.example.com-cert.pub'))
  })

  it('--login (ssh\'s %r) that the certificate does not allow: one line naming the logins that work, exit 1', async () => {
    await login()
    const ok = await runCli(['ssh-gen', '--hostname', 'vm.example.com', '--login', 'alice'], { home })
    expect(ok.code, ok.stderr).toBe(0)
    const wrong = await runCli(['ssh-gen', '--hostname', 'vm.example.com', '--login', 'root'], { home })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toBe('jitssh: you may log in to vm.example.com as alice, not as root (run: ssh alice@vm.example.com)\n')
    // The certificate itself is kept: `ssh alice@vm.example.com` uses it.
    expect((await runCli(['ssh-gen', '--hostname', 'vm.example.com', '--login', 'alice'], { home })).stderr).toBe('')
  })

  it('a host the policy does not allow: exit 1, one line naming the host and the reason, no files', async () => {
    await login()
    const r = await runCli(['ssh-gen', '--hostname', 'vm.other.org'], { home })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^jitssh: access to vm\.other\.org denied: .+\n$/)
    await expect(stat(join(paths().certs, 'vm.other.org'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('never logged in, or logged out: exit 4 "not logged in" without starting a login', async () => {
    const browser = createStubBrowser()
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com', '--server', srv.url], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open })
    expect(r.code).toBe(4)
    expect(r.stderr).toBe(`jitssh: not logged in to ${srv.url} (run: jitssh login)\n`)
    expect(browser.opened).toEqual([])
    await login()
    expect((await runCli(['logout'], { home })).code).toBe(0)
    const after = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open })
    expect(after.code).toBe(4)
    expect(browser.opened).toEqual([])
  })

  it('with no server configured: exit 4 and how to log in', async () => {
    const r = await runCli(['ssh-gen', '--hostname', 'vm.example.com'], { home })
    expect(r.code).toBe(4)
    expect(r.stderr).toBe('jitssh: no jitssh server configured (run: jitssh login --server https://access.example.com)\n')
  })

  it('refuses hostile host names with exit 2 before touching any file', async () => {
    await login()
    const before = await snapshotTree(home)
    for (const bad of ['vm\nx', '../x', 'a b', '%h', '"x"', "'x'", '-oProxyCommand=x', '*.example.com', 'vm.example.com:22']) {
      const r = await runCli(['ssh-gen', `--hostname=${bad}`], { home })
      expect(r.code, bad).toBe(2)
    }
    expect(await snapshotTree(home)).toEqual(before)
  })
})

describe('jitssh ssh through the real bastion', () => {
  it('carries bytes to the target and back; stdout has only the target bytes', async () => {
    await login()
    const stdin = new PassThrough()
    stdin.write('ping\n')
    const r = await runCli(['ssh', '--hostname', 'echo.example.com', '--port', '22'], { home, stdin })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('pong\n')
    expect(r.stderr).toBe('')
    expect(received.at(-1)).toBe('ping\n')
  })

  it('403: names the host and the server\'s reason', async () => {
    await login()
    const r = await runCli(['ssh', '--hostname', 'vm.other.org'], { home })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^jitssh: access to vm\.other\.org:22 denied: .+\n$/)
  })

  it('502: the target is unreachable', async () => {
    await login()
    const r = await runCli(['ssh', '--hostname', 'down.example.com'], { home })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^jitssh: down\.example\.com:22 is unreachable from the jitssh server/)
  })

  it('401: not logged in, run jitssh login', async () => {
    await login()
    await fetch(`${srv.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: await refreshToken(), client_id: 'jitssh-cli' }) })
    const r = await runCli(['ssh', '--hostname', 'echo.example.com'], { home })
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^jitssh: .*(not logged in|session .* has ended).*run: jitssh login\)\n$/)
  })
})
