/**
 * The product, end to end, with real parts only: jitssh-server (local users, SQLite), an sshd on a loopback
 * port trusting the user CA, the real ssh/scp clients reading the config that `jitssh ssh-config --write`
 * wrote, and `jitssh login` completed by headless Chromium on the real login page.
 *
 * The steps share one stack and run in order, as a person would use it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCertificate } from '../../src/ssh/certificate.js'
import { launchChromium } from '../helpers/chromium.js'
import { DENIED_HOST, startStack, VM_HOST, type Stack } from '../helpers/stack.js'

let stack: Stack
let browser: Browser

async function auditTypes(): Promise<string[]> {
  return (await stack.server.server.store.audit.read(0, 100_000)).map((event) => event.type)
}
const count = (types: string[], type: string): number => types.filter((t) => t === type).length
const certPath = (host: string): string => join(stack.env.JITSSH_HOME!, 'certs', `${host}-cert.pub`)
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')
const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '')

beforeAll(async () => {
  ;[stack, browser] = await Promise.all([startStack(), launchChromium()])
}, 60_000)

afterAll(async () => {
  await Promise.allSettled([browser?.close(), stack?.stop()])
})

describe('jitssh end to end', { timeout: 90_000 }, () => {
  it('logs in through the browser (headless Chromium on the real login page)', async () => {
    const login = await stack.loginWithBrowser(browser)
    expect(login.stderr).toContain(`${stack.server.url}/authorize?`)
    expect(login.code, login.stderr).toBe(0)
    const status = await stack.jitssh(['status', '--json'])
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ server: stack.server.url })
    expect(status.stdout).toContain('alice@example.com')
  })

  it('writes the ssh config, and plain `ssh vm true` works; sshd logs the certificate key id', async () => {
    const write = await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'])
    expect(write.code, write.stderr).toBe(0)
    expect(readFileSync(stack.sshConfigPath, 'utf8')).toContain(`Match final host ${VM_HOST}`)

    const ssh = await stack.ssh([VM_HOST, 'echo', 'hello-from-$(whoami)'])
    expect(ssh.code, ssh.stderr).toBe(0)
    expect(ssh.stdout.trim()).toBe(`hello-from-${stack.sshd.user}`)

    const cert = parseCertificate(readFileSync(certPath(VM_HOST), 'utf8'))
    expect(cert.principals).toEqual([stack.sshd.user])
    expect(cert.keyId).toContain('alice@example.com')
    // The sshd log line ties the login to the certificate, and so to the audit event.
    await stack.sshd.waitForLog(new RegExp(`Accepted publickey for ${stack.sshd.user} .*ID ${escapeRegExp(cert.keyId)} \\(serial ${cert.serial}\\)`))
    // The host was verified through the host CA (@cert-authority), not trust on first use.
    expect(ssh.stderr).not.toMatch(/Warning: Permanently added/)
  })

  it('reuses the cached certificate on the next ssh, and fetches a new one silently when it nears expiry', async () => {
    const before = await auditTypes()
    const firstCert = readFileSync(certPath(VM_HOST), 'utf8')

    const again = await stack.ssh([VM_HOST, 'true'])
    expect(again.code, again.stderr).toBe(0)
    expect(readFileSync(certPath(VM_HOST), 'utf8')).toBe(firstCert)
    expect(count(await auditTypes(), 'cert.sign')).toBe(count(before, 'cert.sign'))

    // A margin longer than the certificate's whole life makes the cached one "about to expire".
    const renewed = await stack.ssh([VM_HOST, 'true'], { env: { JITSSH_CERT_MARGIN: '86400' } })
    expect(renewed.code, renewed.stderr).toBe(0)
    expect(renewed.stderr).toBe('')
    const secondCert = readFileSync(certPath(VM_HOST), 'utf8')
    expect(secondCert).not.toBe(firstCert)
    expect(parseCertificate(secondCert).serial).not.toBe(parseCertificate(firstCert).serial)
    expect(count(await auditTypes(), 'cert.sign')).toBe(count(before, 'cert.sign') + 1)
  })

  it("reaches vm through the user's own alias (Host myvm + HostName), above or below our block", async () => {
    const original = readFileSync(stack.sshConfigPath, 'utf8')
    try {
      writeFileSync(stack.sshConfigPath, `${original}\nHost myvm-below\n    HostName ${VM_HOST}\n`)
      const below = await stack.ssh(['myvm-below', 'echo', 'below'])
      expect(below.code, below.stderr).toBe(0)
      expect(below.stdout.trim()).toBe('below')

      writeFileSync(stack.sshConfigPath, `Host myvm-above\n    HostName ${VM_HOST}\n\n${original}`)
      const above = await stack.ssh(['myvm-above', 'echo', 'above'])
      expect(above.code, above.stderr).toBe(0)
      expect(above.stdout.trim()).toBe('above')
    } finally {
      writeFileSync(stack.sshConfigPath, original)
    }
  })

  it('brings a policy denial to the user with its reason', async () => {
    const write = await stack.jitssh(['ssh-config', '--hostname', DENIED_HOST, '--short-lived-cert', '--write'])
    expect(write.code, write.stderr).toBe(0)
    const logBefore = stack.sshd.logText()
    const denied = await stack.ssh([DENIED_HOST, 'true'])
    expect(denied.code).not.toBe(0)
    expect(denied.stderr).toMatch(/no policy rule grants alice@example\.com access to db\.example\.com/)
    // The bastion refused before connecting: sshd never saw this attempt.
    expect(stack.sshd.logText().slice(logBefore.length)).not.toMatch(/Connection from/)
  })

  it('copies a 50 MB file both ways with scp, byte for byte', async () => {
    const local = join(stack.home, 'big.bin')
    const remote = join(stack.home, 'remote-copy.bin')
    const back = join(stack.home, 'back.bin')
    writeFileSync(local, randomBytes(50 * 1024 * 1024))
    const scpOptions = ['-F', stack.sshConfigPath, '-o', 'BatchMode=yes', '-q']
    const up = await runScp([...scpOptions, local, `${VM_HOST}:${remote}`])
    expect(up.code, up.stderr).toBe(0)
    const down = await runScp([...scpOptions, `${VM_HOST}:${remote}`, back])
    expect(down.code, down.stderr).toBe(0)
    expect(statSync(back).size).toBe(50 * 1024 * 1024)
    expect(sha256(remote)).toBe(sha256(local))
    expect(sha256(back)).toBe(sha256(local))
  }, 120_000)

  it('after jitssh logout, ssh fails with the "not logged in" message', async () => {
    const logout = await stack.jitssh(['logout'])
    expect(logout.code, logout.stderr).toBe(0)
    expect(() => statSync(certPath(VM_HOST))).toThrow()
    const ssh = await stack.ssh([VM_HOST, 'true'])
    expect(ssh.code).not.toBe(0)
    expect(ssh.stderr).toMatch(/not logged in.*jitssh login/)
  })

  it('logs in with the device flow too (approved in the browser), and ssh works again', async () => {
    const login = await stack.loginWithDevice(browser)
    expect(login.code, login.stderr).toBe(0)
    expect(login.stderr).toMatch(/[B-Z]{4}-[B-Z]{4}/)
    const ssh = await stack.ssh([VM_HOST, 'true'])
    expect(ssh.code, ssh.stderr).toBe(0)
  })

  it('with the access server stopped, ssh fails with a one-line reason and never connects around the bastion', async () => {
    const logBefore = stack.sshd.logText()
    await stack.server.server.close()
    const ssh = await stack.ssh([VM_HOST, 'true'])
    expect(ssh.code).not.toBe(0)
    const messages = lines(ssh.stderr)
    expect(messages.some((line) => /^jitssh: cannot reach http:\/\/127\.0\.0\.1:\d+/.test(line)), ssh.stderr).toBe(true)
    expect(stack.sshd.logText().slice(logBefore.length)).not.toMatch(/Connection from|Accepted/)
  })
})

function runScp(args: string[]): ReturnType<Stack['ssh']> {
  return import('../helpers/sshd.js').then(({ runTool }) =>
    runTool('/usr/bin/scp', args, { timeoutMs: 120_000, env: { ...stack.env, SSH_AUTH_SOCK: '', DISPLAY: '' } }),
  )
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
