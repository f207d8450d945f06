// A jitssh server whose TLS certificate comes from a private CA: the CLI names the TLS problem and its fix
// (not "cannot reach ... check the network"), and `login --ca-file` (or JITSSH_CA_FILE) makes it trusted and
// keeps the file for every later jitssh process. The whole path with real ssh: test/e2e/first-day.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { makeTempHome, removeTempHome, runCli } from '../helpers/cli.js'
import { startConnectProxy } from '../helpers/connect-proxy.js'
import { makePrivateCa, type PrivateCa } from '../helpers/private-ca.js'
import { startTestServer, type TestServer } from '../helpers/server.js'
import { freeLoopbackPort } from '../helpers/sshd.js'

let srv: TestServer
let dir: string
let ca: PrivateCa
let home: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-private-ca-'))
  ca = makePrivateCa(dir)
  const port = await freeLoopbackPort()
  srv = await startTestServer({ config: { listen: `127.0.0.1:${port}`, public_url: `https://127.0.0.1:${port}`, tls: { cert: ca.certFile, key: ca.keyFile } } })
})
afterAll(async () => {
  await srv?.stop()
  rmSync(dir, { recursive: true, force: true })
})
beforeEach(async () => {
  home = await makeTempHome()
})
afterEach(async () => {
  await removeTempHome(home)
})

/** `jitssh login --device ...` until it shows the device code (so every request so far went through), then Ctrl-C. */
async function deviceLoginUntilCode(args: string[], env: Record<string, string> = {}) {
  const controller = new AbortController()
  let shown = false
  const r = await runCli(['login', '--server', srv.url, '--device', ...args], {
    home,
    env,
    signal: controller.signal,
    onStderr: (text) => {
      if (/\/device\?user_code=/.test(text)) {
        shown = true
        controller.abort()
      }
    },
  })
  return { ...r, shown }
}

describe('a server with a private CA', () => {
  it('without the CA: one line that names the TLS problem and the fix, exit 1', async () => {
    const r = await runCli(['login', '--server', srv.url, '--device'], { home })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toBe(
      `jitssh: TLS: cannot trust ${srv.url}: its certificate is signed by a CA this machine does not trust (UNABLE_TO_VERIFY_LEAF_SIGNATURE) ` +
        '(if the server uses a private CA: jitssh login --ca-file CA.pem (or set JITSSH_CA_FILE, or NODE_EXTRA_CA_CERTS for every Node program))\n',
    )
    expect(r.stderr).not.toMatch(/cannot reach|check the network/)
  })

  it('login --ca-file trusts it and keeps the file for every later command', async () => {
    const r = await deviceLoginUntilCode(['--ca-file', ca.caFile])
    expect(r.shown, r.stderr).toBe(true)
    const config = JSON.parse(readFileSync(jitsshPaths({}, home).config, 'utf8')) as { servers: Record<string, { ca_file?: string }> }
    expect(config.servers[srv.url]?.ca_file).toBe(ca.caFile)
    // A later command, with nothing in its environment: the kept file applies (it reaches the server's API).
    const later = await runCli(['hosts', '--server', srv.url], { home })
    expect(later.stderr).toMatch(/^jitssh: not logged in/)
  })

  it('through an HTTPS_PROXY named by host name: the certificate is checked against the server (an IP), not the proxy', async () => {
    const proxy = await startConnectProxy()
    try {
      const viaName = proxy.url.replace('127.0.0.1', 'localhost')
      const r = await deviceLoginUntilCode(['--ca-file', ca.caFile], { HTTPS_PROXY: viaName, NO_PROXY: '' })
      expect(r.stderr).not.toMatch(/TLS/)
      expect(r.shown).toBe(true)
      expect(proxy.connects).toContain(new URL(srv.url).host)
    } finally {
      await proxy.close()
    }
  })

  it('JITSSH_CA_FILE does the same for one environment; a wrong file says which file does not hold the CA', async () => {
    expect((await deviceLoginUntilCode([], { JITSSH_CA_FILE: ca.caFile })).shown).toBe(true)
    const other = makePrivateCa(mkdtempSync(join(dir, 'other-')))
    const wrong = await runCli(['login', '--server', srv.url, '--device'], { home, env: { JITSSH_CA_FILE: other.caFile } })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain(`(${other.caFile} does not hold the CA that signed it: give the right file to jitssh login --ca-file (or JITSSH_CA_FILE))`)
  })

  it('a --ca-file that is not a PEM certificate is a usage error, before any request', async () => {
    writeFileSync(join(dir, 'not-a-ca.pem'), 'hello\n')
    const r = await runCli(['login', '--server', srv.url, '--ca-file', join(dir, 'not-a-ca.pem')], { home, network: 'none' })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`jitssh: ${join(dir, 'not-a-ca.pem')} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")\n`)
  })
})
