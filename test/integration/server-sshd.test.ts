// The acceptance path of the server on its own: a certificate from POST /v1/ssh/sign logs in to a real
// sshd (trusting the server's user CA) through the bastion WebSocket, with a small WebSocket↔stdio bridge
// as ssh's ProxyCommand; sshd's log names the key id, and the audit log has the tunnel's bytes.
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateServerKeys, loadServerKeys } from '../../src/server/ca/server-keys.js'
import type { SignResponse } from '../../src/shared/protocol.js'
import { encodePrivateKey, formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'
import { runSsh, startSshd, type RunningSshd } from '../helpers/sshd.js'

const WS_MODULE = pathToFileURL(join(createRequire(import.meta.url).resolve('ws'), '..', 'wrapper.mjs')).href

/** stdin → WebSocket binary messages, messages → stdout; the token comes from the environment. */
const BRIDGE = `import WebSocket from ${JSON.stringify(WS_MODULE)}
const ws = new WebSocket(process.argv[2], { headers: { authorization: 'Bearer ' + process.env.JITSSH_TEST_TOKEN }, perMessageDeflate: false })
ws.on('open', () => {
  process.stdin.on('data', (chunk) => ws.send(chunk))
  process.stdin.on('end', () => ws.close(1000))
})
ws.on('message', (data) => process.stdout.write(data))
ws.on('close', (code) => process.exit(code === 1000 || code === 4000 ? 0 : 1))
ws.on('unexpected-response', (_req, res) => { process.stderr.write('bastion refused: ' + res.statusCode + '\\n'); process.exit(1) })
ws.on('error', (error) => { process.stderr.write(String(error) + '\\n'); process.exit(1) })
`

describe('sign + bastion + real sshd', () => {
  let keysDir: string
  let work: string
  let sshd: RunningSshd
  let srv: TestServer

  beforeAll(async () => {
    keysDir = mkdtempSync(join(tmpdir(), 'jitssh-sshd-keys-'))
    work = mkdtempSync(join(tmpdir(), 'jitssh-sshd-client-'))
    generateServerKeys(keysDir)
    const keys = await loadServerKeys(keysDir)
    sshd = await startSshd({ trustedUserCaKeys: keys.userCaLine })
    srv = await startTestServer({
      targets: { 'vm.example.com': `127.0.0.1:${sshd.port}` },
      policy: [{ name: 'e2e', groups: ['dev'], hosts: ['vm.example.com'], principals: [sshd.user], max_ttl: '5m' }],
      config: { keys_dir: keysDir },
    })
    writeFileSync(join(work, 'bridge.mjs'), BRIDGE)
  })
  afterAll(async () => {
    await srv?.stop()
    await sshd?.stop()
    rmSync(keysDir, { recursive: true, force: true })
    rmSync(work, { recursive: true, force: true })
  })

  it('logs in with the signed certificate through the WebSocket tunnel', async () => {
    const tokens = await loginWithPassword(srv.url)
    const key = generateKeyPair('ssh-ed25519')
    const response = await fetch(`${srv.url}/v1/ssh/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: formatPublicKey(key.publicKey), hostname: 'vm.example.com' }),
    })
    expect(response.status).toBe(200)
    const signed = (await response.json()) as SignResponse
    const keyPath = join(work, 'vm.example.com')
    writeFileSync(keyPath, encodePrivateKey(key), { mode: 0o600 })
    writeFileSync(`${keyPath}-cert.pub`, `${signed.certificate}\n`)

    const tunnel = `${srv.url.replace(/^http/, 'ws')}/v1/tunnel?host=%h&port=%p`
    const proxyCommand = `'${process.execPath}' '${join(work, 'bridge.mjs')}' '${tunnel}'`
    const result = await runSsh(
      ['-i', keyPath, '-o', `CertificateFile=${keyPath}-cert.pub`, '-o', `ProxyCommand=${proxyCommand}`, '-l', sshd.user, 'vm.example.com', 'echo hello-through-jitssh'],
      { env: { JITSSH_TEST_TOKEN: tokens.access_token }, timeoutMs: 30_000 },
    )
    expect(result.stderr).not.toMatch(/bastion refused/)
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toBe('hello-through-jitssh')
    // sshd names the key id, which names the user, session and host: the audit trail joins up.
    await sshd.waitForLog(new RegExp(`Accepted publickey for ${sshd.user} .*ID ${signed.key_id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))

    // The tunnel.close event is written when the tunnel leaves the registry.
    if (srv.server.context.tunnels.size > 0) await once(srv.server.context.tunnels, 'removed')
    const events = await srv.server.store.audit.read(0, 10_000)
    const close = events.filter((event) => event.type === 'tunnel.close').at(-1)
    expect(close).toMatchObject({ user: 'alice@example.com', host: 'vm.example.com', sessionId: tokens.session_id })
    expect(Number(close!.detail.bytes_up)).toBeGreaterThan(1000)
    expect(Number(close!.detail.bytes_down)).toBeGreaterThan(1000)
  })

  it('ignores principals in the request: they come from policy only', async () => {
    const tokens = await loginWithPassword(srv.url)
    const key = generateKeyPair('ssh-ed25519')
    const response = await fetch(`${srv.url}/v1/ssh/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: formatPublicKey(key.publicKey), hostname: 'vm.example.com', principals: ['nobody-else'] }),
    })
    const signed = (await response.json()) as SignResponse
    expect(signed.principals).toEqual([sshd.user])
  })
})
