// 50 parallel `jitssh ssh-gen` (real child processes of bin/jitssh.js, as ssh's Match exec runs them)
// with no certificate and an expired access token: one refresh, one signing request, no login, all exit 0,
// and the key and certificate on disk belong together. A lock left by a killed process blocks nobody.
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCertificate } from '../../src/ssh/certificate.js'
import { parsePrivateKey } from '../../src/ssh/keys.js'
import { accessTokenPath } from '../../src/client/auth/credentials.js'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { serverId } from '../../src/client/auth/server-url.js'
import { BIN_JITSSH, ensureBuilt, makeTempHome, removeTempHome, runCli } from '../helpers/cli.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { createStubBrowser } from '../helpers/stub-browser.js'

let srv: TestServer
let home: string

beforeAll(async () => {
  await ensureBuilt()
  srv = await startTestServer()
  home = await makeTempHome()
  const browser = createStubBrowser()
  const r = await runCli(['login', '--server', srv.url], { home, env: { DISPLAY: ':0' }, openBrowser: browser.open })
  expect(r.code, r.stderr).toBe(0)
}, 120_000)
afterAll(async () => {
  await srv?.stop()
  await removeTempHome(home)
})

const paths = () => jitsshPaths({}, home)
const audit = async (type: string) => (await srv.server.store.audit.read(0, 100_000)).filter((e) => e.type === type).length

/** One ssh-gen as ssh runs it: stdin /dev/null, no display (a login would have to use the device flow). */
function sshGen(host: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN_JITSSH, 'ssh-gen', '--hostname', host], {
      env: { PATH: process.env.PATH, HOME: home, JITSSH_CREDENTIAL_STORE: 'file' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('close', (code) => resolve({ code, stderr }))
  })
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString())
}

async function expectConsistent(host: string): Promise<void> {
  const key = parsePrivateKey(await readFile(join(paths().certs, host), 'utf8'))
  const cert = parseCertificate(await readFile(join(paths().certs, `${host}-cert.pub`), 'utf8'))
  expect(cert.publicKey.blob.equals(key.publicKey.blob)).toBe(true)
}

describe('50 concurrent ssh-gen', () => {
  it('one refresh, one signing request, no login; all exit 0 with a consistent key and certificate', async () => {
    // An expired access token: somebody must refresh, and refresh tokens are single-use.
    const cached = JSON.parse(await readFile(accessTokenPath(paths(), srv.url), 'utf8'))
    await writeFile(accessTokenPath(paths(), srv.url), JSON.stringify({ ...cached, expires_at: Date.now() - 1000 }))
    const before = { sign: await audit('cert.sign'), refresh: await audit('token.refresh'), login: await audit('login'), reuse: await audit('token.refresh_reuse') }

    const results = await Promise.all(Array.from({ length: 50 }, () => sshGen('vm.example.com')))

    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([])
    expect(await audit('cert.sign')).toBe(before.sign + 1)
    expect(await audit('token.refresh')).toBe(before.refresh + 1)
    expect(await audit('login')).toBe(before.login)
    expect(await audit('token.refresh_reuse')).toBe(before.reuse)
    await expectConsistent('vm.example.com')
  }, 180_000)

  it('a host lock and a session lock left by killed processes do not block the next run', async () => {
    await mkdir(paths().locks, { recursive: true })
    const dead = JSON.stringify({ pid: deadPid(), host: hostname(), started: Date.now(), token: 'killed' })
    await writeFile(join(paths().locks, 'host-db.example.com.lock'), dead)
    await writeFile(join(paths().locks, `session-${serverId(srv.url)}.lock`), dead)
    const cached = JSON.parse(await readFile(accessTokenPath(paths(), srv.url), 'utf8'))
    await writeFile(accessTokenPath(paths(), srv.url), JSON.stringify({ ...cached, expires_at: 0 })) // force the session lock
    const started = Date.now()
    const r = await sshGen('db.example.com')
    expect(r.code, r.stderr).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
    await expectConsistent('db.example.com')
  }, 60_000)
})
