// A certificate works only where it was granted (issue 11). Two real sshds, dev and prod, both accept the
// same account; policy lets alice reach dev only. Her dev certificate logs in to dev through the bastion,
// but not to prod: not directly from another address (127.0.0.2: a laptop, or the dev box itself), because
// it is pinned to the bastion's egress; and not through the bastion, which checks the host. With
// `certificates.direct_access`, principals are host-bound instead, and prod's sshd does not list dev's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateServerKeys, loadServerKeys, type ServerKeys } from '../../src/server/ca/server-keys.js'
import { encodePrivateKey, formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { signFor } from '../helpers/admin.js'
import { loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'
import { REPO_ROOT } from '../helpers/stack.js'
import { runSsh, startSshd, type RunningSshd } from '../helpers/sshd.js'

let dir: string
let keys: ServerKeys
let keysDir: string
let dev: RunningSshd
let prod: RunningSshd
const servers: TestServer[] = []

/** A ProxyCommand that carries ssh through the bastion's WebSocket with a bearer token (what `jitssh ssh` does). */
const PROXY = `
const WebSocket = require(process.argv[4])
const ws = new WebSocket(process.argv[2], { headers: { authorization: 'Bearer ' + process.argv[3] } })
ws.on('open', () => { process.stdin.on('data', (d) => ws.send(d)); process.stdin.on('end', () => ws.close()) })
ws.on('message', (d) => process.stdout.write(d))
ws.on('unexpected-response', (_req, res) => { process.stderr.write('bastion refused: HTTP ' + res.statusCode + '\\n'); process.exit(1) })
ws.on('close', () => process.exit(0))
ws.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1) })
`

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-scope-'))
  keysDir = join(dir, 'keys')
  generateServerKeys(keysDir)
  keys = await loadServerKeys(keysDir)
  writeFileSync(join(dir, 'proxy.cjs'), PROXY)
  for (const name of ['dev', 'prod']) writeFileSync(join(dir, `principals-${name}`), '') // filled per test
  ;[dev, prod] = await Promise.all([
    startSshd({ trustedUserCaKeys: keys.userCaLine }),
    startSshd({ trustedUserCaKeys: keys.userCaLine }),
  ])
}, 60_000)
afterAll(async () => {
  for (const srv of servers) await srv.stop()
  await Promise.allSettled([dev?.stop(), prod?.stop()])
  rmSync(dir, { recursive: true, force: true })
})

async function bastion(certificates: Record<string, unknown> = {}): Promise<TestServer> {
  const srv = await startTestServer({
    targets: { 'dev.example.com': `127.0.0.1:${dev.port}`, 'prod.example.com': `127.0.0.1:${prod.port}` },
    // The shared account on both hosts: what makes a certificate for one usable on the other.
    policy: [{ name: 'dev-only', users: ['alice'], hosts: ['dev.example.com'], principals: [dev.user] }],
    config: { keys_dir: keysDir, certificates },
  })
  servers.push(srv)
  return srv
}

/** alice's key and a certificate the server issued for dev.example.com, on disk for ssh. */
async function devCertificate(srv: TestServer): Promise<{ keyPath: string; token: string; principals: string[] }> {
  const alice = await loginWithPassword(srv.url, 'alice')
  const pair = generateKeyPair('ssh-ed25519')
  const response = await fetch(`${srv.url}/v1/ssh/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ public_key: formatPublicKey(pair.publicKey), hostname: 'dev.example.com' }),
  })
  const signed = (await response.json()) as { certificate: string; principals: string[] }
  expect(response.status).toBe(200)
  const keyPath = join(dir, `alice-${Math.random().toString(36).slice(2)}`)
  writeFileSync(keyPath, encodePrivateKey(pair), { mode: 0o600 })
  writeFileSync(`${keyPath}-cert.pub`, `${signed.certificate}\n`)
  return { keyPath, token: alice.access_token, principals: signed.principals }
}

function sshWith(keyPath: string, target: RunningSshd, extra: string[]): ReturnType<typeof runSsh> {
  return runSsh(['-i', keyPath, '-o', `CertificateFile=${keyPath}-cert.pub`, '-l', target.user, ...extra, 'echo', 'in'])
}

function throughBastion(srv: TestServer, host: string, token: string): string[] {
  const ws = `${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=${host}&port=22`
  return ['-o', `ProxyCommand=${process.execPath} ${join(dir, 'proxy.cjs')} '${ws}' ${token} ${join(REPO_ROOT, 'node_modules', 'ws')}`, host]
}

describe('by default: pinned to the bastion (loopback targets: source-address 127.0.0.1/32, ::1/128)', () => {
  it('the dev certificate logs in to dev through the bastion', async () => {
    const srv = await bastion()
    const cert = await devCertificate(srv)
    const viaBastion = await sshWith(cert.keyPath, dev, throughBastion(srv, 'dev.example.com', cert.token))
    expect(viaBastion.stdout.trim(), viaBastion.stderr).toBe('in')
  })

  it('does not log in to prod directly from another address, nor to dev: the pin holds', async () => {
    const srv = await bastion()
    const cert = await devCertificate(srv)
    for (const target of [prod, dev]) {
      const direct = await sshWith(cert.keyPath, target, ['-b', '127.0.0.2', '-p', String(target.port), target.host])
      expect(direct.code).not.toBe(0)
      await target.waitForLog(/not from a permitted source address \(127\.0\.0\.2\)/)
    }
  })

  it('does not reach prod through the bastion either: the bastion checks the host', async () => {
    const srv = await bastion()
    const cert = await devCertificate(srv)
    const viaBastion = await sshWith(cert.keyPath, prod, throughBastion(srv, 'prod.example.com', cert.token))
    expect(viaBastion.code).not.toBe(0)
    expect(viaBastion.stderr).toContain('bastion refused: HTTP 403')
  })
})

describe('with certificates.direct_access: host-bound principals', () => {
  it('the dev certificate says login@dev.example.com: dev (listing it) accepts it from anywhere, prod (listing its own) does not', async () => {
    const srv = await bastion({ direct_access: true })
    const cert = await devCertificate(srv)
    expect(cert.principals).toEqual([`${dev.user}@dev.example.com`])
    const devPrincipals = join(dir, 'principals-dev')
    const prodPrincipals = join(dir, 'principals-prod')
    writeFileSync(devPrincipals, `${dev.user}@dev.example.com\n`)
    writeFileSync(prodPrincipals, `${prod.user}@prod.example.com\n`)
    const [devHost, prodHost] = await Promise.all([
      startSshd({ trustedUserCaKeys: keys.userCaLine, authorizedPrincipalsFile: devPrincipals }),
      startSshd({ trustedUserCaKeys: keys.userCaLine, authorizedPrincipalsFile: prodPrincipals }),
    ])
    try {
      const onDev = await sshWith(cert.keyPath, devHost, ['-b', '127.0.0.2', '-p', String(devHost.port), devHost.host])
      expect(onDev.stdout.trim(), onDev.stderr).toBe('in')
      const onProd = await sshWith(cert.keyPath, prodHost, ['-b', '127.0.0.2', '-p', String(prodHost.port), prodHost.host])
      expect(onProd.code).not.toBe(0)
    } finally {
      await Promise.all([devHost.stop(), prodHost.stop()])
    }
  })
})

describe('the config insists', () => {
  it('refuses a target off loopback without source_address, naming the fix; direct_access or source_address make it valid', async () => {
    const remote = { 'vm.example.com': '10.0.0.5:22' }
    await expect(startTestServer({ targets: remote })).rejects.toThrow(
      /certificates\.source_address: is required: target vm\.example\.com \(10\.0\.0\.5\) is not on loopback.*certificates\.direct_access: true/,
    )
    for (const certificates of [{ direct_access: true }, { source_address: ['10.0.0.2/32'] }]) {
      const srv = await startTestServer({ targets: remote, config: { certificates } })
      const alice = await loginWithPassword(srv.url, 'alice')
      const signed = await signFor(srv.url, alice.access_token, 'vm.example.com')
      expect(signed.status).toBe(200)
      await srv.stop()
    }
  })
})
