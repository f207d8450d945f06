/**
 * Instant revocation, end to end with real parts only: alice runs `ssh vm 'sleep 60'` through the bastion,
 * bob (an admin, in his own HOME) runs `jitssh revoke --user alice@example.com`, and the running ssh ends
 * within a second of the server recording the revocation; her next ssh fails with a clear message; and
 * a certificate issued before the revocation, presented directly to an sshd (no bastion), is accepted while
 * that sshd's RevokedKeys holds the KRL from before, and rejected once it holds a freshly fetched one.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCertificate } from '../../src/ssh/certificate.js'
import { launchChromium } from '../helpers/chromium.js'
import { startStack, VM_HOST, type Stack, type StackHome } from '../helpers/stack.js'
import { runSsh, SSH_PATH, startSshd, type RunningSshd } from '../helpers/sshd.js'
import { TEST_PASSWORD } from '../helpers/server.js'

let stack: Stack
let browser: Browser
let admin: StackHome
let dir: string
const sshds: RunningSshd[] = []
/** A copy of the key and certificate alice's ssh used, taken before the revocation. */
let keyCopy: string
let certCopy: string

beforeAll(async () => {
  ;[stack, browser] = await Promise.all([startStack({ serverConfig: { admins: { groups: ['ops'] } } }), launchChromium()])
  admin = stack.addHome()
  dir = mkdtempSync(join(tmpdir(), 'jitssh-revocation-e2e-'))
}, 60_000)

afterAll(async () => {
  await Promise.allSettled([browser?.close(), stack?.stop(), ...sshds.map((sshd) => sshd.stop())])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

async function fetchKrl(name: string): Promise<string> {
  const response = await fetch(`${stack.server.url}/v1/ssh/krl`) // no token: sshd hosts fetch it as is
  expect(response.status).toBe(200)
  const path = join(dir, name)
  writeFileSync(path, Buffer.from(await response.arrayBuffer()))
  return path
}

/** An sshd trusting the user CA, with RevokedKeys = `krlPath`, reached directly (no bastion). */
async function directSshdWith(krlPath: string): Promise<RunningSshd> {
  const sshd = await startSshd({ trustedUserCaKeys: stack.keys.userCaLine, revokedKeysPath: krlPath })
  sshds.push(sshd)
  return sshd
}
const directLogin = (sshd: RunningSshd) => runSsh(['-i', keyCopy, '-o', `CertificateFile=${certCopy}`, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, 'echo direct-ok'])

describe('revocation end to end', { timeout: 90_000 }, () => {
  it('alice logs in and uses ssh; bob logs in as an admin; a direct sshd with the current KRL accepts her certificate', async () => {
    expect((await stack.loginWithBrowser(browser)).code).toBe(0)
    expect((await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'])).code).toBe(0)
    const ssh = await stack.ssh([VM_HOST, 'true'])
    expect(ssh.code, ssh.stderr).toBe(0)
    keyCopy = join(dir, 'alice-key')
    certCopy = join(dir, 'alice-key-cert.pub')
    copyFileSync(join(stack.env.JITSSH_HOME!, 'certs', VM_HOST), keyCopy)
    copyFileSync(join(stack.env.JITSSH_HOME!, 'certs', `${VM_HOST}-cert.pub`), certCopy)

    const login = await admin.loginWithBrowser(browser, { username: 'bob', password: TEST_PASSWORD })
    expect(login.code, login.stderr).toBe(0)

    const before = await directSshdWith(await fetchKrl('before.krl'))
    const direct = await directLogin(before)
    expect(direct.code, direct.stderr).toBe(0)
    expect(direct.stdout.trim()).toBe('direct-ok')
  })

  it('a running `ssh vm sleep 60` ends within 1 s of `jitssh revoke --user alice@example.com`', async () => {
    const child = spawn(SSH_PATH, ['-F', stack.sshConfigPath, '-o', 'BatchMode=yes', VM_HOST, 'echo started; sleep 60'], {
      env: { ...process.env, ...stack.env, SSH_AUTH_SOCK: '', DISPLAY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, at: performance.now() }))
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
        if (stdout.includes('started')) resolve()
      })
      void exited.then(() => reject(new Error(`ssh ended before the command started:\n${stderr}`)))
    })
    expect(stack.server.server.context.tunnels.size).toBe(1)
    // The admin sees the live tunnel itself (host and since when), not only a count.
    const sessions = await admin.jitssh(['sessions'])
    expect(sessions.code, sessions.stderr).toBe(0)
    expect(sessions.stdout).toMatch(/^\S+ +alice@example\.com .* vm\.example\.com since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/m)
    const listed = JSON.parse((await admin.jitssh(['sessions', '--json'])).stdout) as { sessions: Array<{ user: string; tunnels: Array<{ host: string }> }> }
    expect(listed.sessions.find((s) => s.user === 'alice@example.com')?.tunnels.map((t) => t.host)).toEqual([VM_HOST])

    // The moment the server has recorded the revocation (store and audit written; listeners run next).
    let revokedAt = 0
    stack.server.server.context.sessions.onRevoke(() => (revokedAt ||= performance.now()))
    const commandStarted = performance.now()
    const revoke = await admin.jitssh(['revoke', '--user', 'alice@example.com'])
    const commandEnded = performance.now()
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(revoke.stdout).toBe('Revoked 1 session of alice@example.com; closed 1 live tunnel.\n')

    const { code, at } = await exited
    const serverSide = at - revokedAt
    console.log(
      `revocation: recorded by the server -> ssh exited: ${serverSide.toFixed(0)} ms; ` +
        `jitssh revoke start -> ssh exited: ${(at - commandStarted).toFixed(0)} ms (the revoke command itself took ${(commandEnded - commandStarted).toFixed(0)} ms)`,
    )
    expect(revokedAt).toBeGreaterThan(0)
    expect(serverSide).toBeLessThan(1000)
    expect(at - commandStarted).toBeLessThan(5000) // node start-up, token refresh and the request included
    expect(code).not.toBe(0)
    expect(stderr).toMatch(/^jitssh: the server closed the connection to vm\.example\.com:22: session revoked \(by an admin\) \(run: jitssh login\)$/m)
    console.log(`the running ssh said: ${stderr.trim()}`)
  })

  it('the next ssh fails with a clear message', async () => {
    const ssh = await stack.ssh([VM_HOST, 'true'])
    expect(ssh.code).not.toBe(0)
    expect(ssh.stderr).toMatch(/^jitssh: .*(session .*(revoked|ended)).*jitssh login/m)
    console.log(`the next ssh said: ${ssh.stderr.trim()}`)
  })

  it('the certificate issued before the revocation is rejected by a direct sshd once its RevokedKeys is the fresh KRL', async () => {
    const after = await directSshdWith(await fetchKrl('after.krl'))
    const direct = await directLogin(after)
    expect(direct.code).not.toBe(0)
    expect(direct.stdout).not.toContain('direct-ok')
    await after.waitForLog(/revoked by file/)
    // The same certificate still works where the old KRL is installed: the fresh KRL is what stops it.
    expect((await directLogin(sshds[0]!)).code).toBe(0)
  })

  it('after a new login, ssh presents a certificate of the new session, never the revoked one', async () => {
    const revoked = parseCertificate(readFileSync(certCopy, 'utf8'))
    const login = await stack.loginWithBrowser(browser)
    expect(login.code, login.stderr).toBe(0)
    const statusRun = await stack.jitssh(['status', '--json'])
    expect(statusRun.code, statusRun.stderr).toBe(0)
    const status = JSON.parse(statusRun.stdout) as { identity: { session_id: string } }
    const ssh = await stack.ssh([VM_HOST, 'true'])
    expect(ssh.code, ssh.stderr).toBe(0)
    const presented = parseCertificate(readFileSync(join(stack.env.JITSSH_HOME!, 'certs', `${VM_HOST}-cert.pub`), 'utf8'))
    expect(presented.keyId).toContain(`:sid=${status.identity.session_id}:`)
    expect(presented.serial).not.toBe(revoked.serial)
    await stack.sshd.waitForLog(new RegExp(`ID ${presented.keyId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(serial ${presented.serial}\\)`))
  })
})
