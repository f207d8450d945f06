/**
 * A person's first day (issue 16), end to end with real parts: a jitssh-server whose TLS certificate comes from
 * a private CA, a real sshd, the built CLI, the real ssh client (on a pseudo-terminal where a person would have
 * one) and headless Chromium for the browser and device logins.
 *
 * The steps share one stack and run in order, as the day goes: the TLS problem named and fixed with --ca-file;
 * logins known before any certificate; the block's User; the logins named when ssh uses another; a shadowing
 * Include refused; an ended session without a terminal (one line, at once) and on one (a new login from inside
 * ssh); and a revocation's line in ssh's raw terminal mode.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answerDeviceCode, launchChromium } from '../helpers/chromium.js'
import { makePrivateCa, type PrivateCa } from '../helpers/private-ca.js'
import { runOnPty } from '../helpers/pty.js'
import { freeLoopbackPort, SSH_PATH } from '../helpers/sshd.js'
import { startStack, VM_HOST, type Stack } from '../helpers/stack.js'

const DB_HOST = 'db.example.com'
let stack: Stack
let browser: Browser
let dir: string
let ca: PrivateCa

const jitsshLines = (stderr: string): string[] => stderr.split(/\r?\n/).filter((line) => line.startsWith('jitssh:'))
const certPath = (host: string): string => join(stack.env.JITSSH_HOME!, 'certs', `${host}-cert.pub`)

/** Ends alice's current session at the server (as an admin's revoke would), without touching her machine. */
async function endSession(reason: string): Promise<void> {
  const rows = await stack.server.server.store.admin.listSessions({ now: Date.now(), includeEnded: false, userEmail: 'alice@example.com', limit: 10 })
  for (const row of rows) await stack.server.server.context.sessions.revoke(row.id, reason, { user: null })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-first-day-'))
  ca = makePrivateCa(dir)
  const port = await freeLoopbackPort()
  const user = (await import('node:os')).userInfo().username
  ;[stack, browser] = await Promise.all([
    startStack({
      policy: [
        { name: 'vm', groups: ['dev'], hosts: [VM_HOST], principals: [user], max_ttl: '10m' },
        { name: 'db', groups: ['dev'], hosts: [DB_HOST], principals: [user, 'admin'], max_ttl: '10m' },
      ],
      serverConfig: { listen: `127.0.0.1:${port}`, public_url: `https://127.0.0.1:${port}`, tls: { cert: ca.certFile, key: ca.keyFile }, oauth: { device_poll_interval: '1s' } },
    }),
    launchChromium({ ignoreCertificateErrors: true }),
  ])
}, 60_000)

afterAll(async () => {
  await Promise.allSettled([browser?.close(), stack?.stop()])
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('the first day, end to end', { timeout: 90_000 }, () => {
  it('a private CA: the TLS problem and its fix in one line; login --ca-file fixes it for good', async () => {
    const untrusted = await stack.jitssh(['login', '--server', stack.server.url, '--no-browser'])
    expect(untrusted.code).toBe(1)
    expect(untrusted.stderr).toBe(
      `jitssh: TLS: cannot trust ${stack.server.url}: its certificate is signed by a CA this machine does not trust (UNABLE_TO_VERIFY_LEAF_SIGNATURE) ` +
        '(if the server uses a private CA: jitssh login --ca-file CA.pem (or set JITSSH_CA_FILE, or NODE_EXTRA_CA_CERTS for every Node program))\n',
    )
    const login = await stack.loginWithBrowser(browser, undefined, ['--ca-file', ca.caFile])
    expect(login.code, login.stderr).toBe(0)
  })

  it('status shows where the login is kept and the logins per host, before the first certificate', async () => {
    const status = await stack.jitssh(['status'])
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).toContain(`Login kept:   in ${join(stack.env.JITSSH_HOME!, 'credentials.json')} (mode 0600)\n`)
    expect(status.stdout).toMatch(new RegExp(`^Hosts: {8}${DB_HOST.replace(/\./g, '\\.')} as ${stack.sshd.user}, admin until \\d{4}-`, 'm'))
    expect(status.stdout).toMatch(new RegExp(`^ {14}${VM_HOST.replace(/\./g, '\\.')} as ${stack.sshd.user} until `, 'm'))
    expect(status.stdout).toContain('Certificates: none')
  })

  it('ssh-config sets User where the grant has one login, and says which logins there are where it has several', async () => {
    const write = await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--hostname', DB_HOST, '--write'])
    expect(write.code, write.stderr).toBe(0)
    expect(write.stderr).toContain(`${VM_HOST}: User ${stack.sshd.user} (your only login there`)
    expect(write.stderr).toContain(`${DB_HOST}: you may log in as ${stack.sshd.user}, admin: say which, e.g. ssh ${stack.sshd.user}@${DB_HOST}`)
    const config = readFileSync(stack.sshConfigPath, 'utf8')
    expect(config.split('# <<< jitssh')[0]).toMatch(new RegExp(`^    User ${stack.sshd.user}$`, 'm'))
    const resolved = await stack.ssh(['-G', VM_HOST], { env: { JITSSH_ROUTE_CHECK: '1' } })
    expect(resolved.stdout).toMatch(new RegExp(`^user ${stack.sshd.user}$`, 'm'))
  })

  it('plain ssh works, through the private CA the ProxyCommand and ssh-gen read from config.json (no CA in their environment)', async () => {
    const ssh = await stack.ssh([VM_HOST, 'id', '-un'])
    expect(ssh.code, ssh.stderr).toBe(0)
    expect(ssh.stdout.trim()).toBe(stack.sshd.user)
    expect(ssh.stderr).toBe('')
  })

  it('ssh as a login the grant does not have: one jitssh line naming the logins that work', async () => {
    const ssh = await stack.ssh([`nobody@${VM_HOST}`, 'true'])
    expect(ssh.code).not.toBe(0)
    expect(jitsshLines(ssh.stderr)).toEqual([`jitssh: you may log in to ${VM_HOST} as ${stack.sshd.user}, not as nobody (run: ssh ${stack.sshd.user}@${VM_HOST})`])
  })

  it('an Include that shadows the block (Host *.example.com + ProxyJump): --write refuses, names file and line, changes nothing', async () => {
    const original = readFileSync(stack.sshConfigPath, 'utf8')
    const corp = join(stack.home, '.ssh', 'corp.conf')
    writeFileSync(corp, 'Host *.example.com\n    ProxyJump jump.corp.example.com\n')
    const shadowed = `Include ${corp}\n${original}`
    writeFileSync(stack.sshConfigPath, shadowed)
    try {
      const write = await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--write'])
      expect(write.code).toBe(1)
      expect(jitsshLines(write.stderr)).toEqual([
        `jitssh: ssh ${VM_HOST} would not go through jitssh: "ProxyJump jump.corp.example.com" in ${corp} line 2 (Host *.example.com) comes first, and ssh keeps the first value it reads ` +
          `(remove that ProxyJump for ${VM_HOST} (or exclude the host from its pattern, e.g. "Host *.example.com !${VM_HOST}"); nothing was changed)`,
      ])
      expect(readFileSync(stack.sshConfigPath, 'utf8')).toBe(shadowed)
    } finally {
      writeFileSync(stack.sshConfigPath, original)
    }
  })

  it('an ended session without a terminal (what VS Code runs): ssh -G and ssh say it in one line, at once', async () => {
    await endSession('ended by the test')
    rmSync(certPath(VM_HOST), { force: true }) // so that ssh-gen must ask the server
    const started = Date.now()
    const resolve = await stack.ssh(['-G', VM_HOST])
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(resolve.stderr.trim().split('\n')).toEqual([`jitssh: your session at ${stack.server.url} has ended (session has been revoked) (run: jitssh login)`])

    // A connection: ssh-gen explains, the ProxyCommand of the same ssh stays silent, and ssh adds nothing.
    const ssh = await stack.ssh([VM_HOST, 'true'])
    expect(ssh.code).toBe(255)
    expect(ssh.stderr.trim().split('\n')).toEqual([`jitssh: your session at ${stack.server.url} has ended (session has been revoked) (run: jitssh login)`])
  })

  it('on a terminal, the same ssh logs in again from inside ssh (device code, approved in the browser) and connects', async () => {
    const run = runOnPty([SSH_PATH, '-F', stack.sshConfigPath, '-o', 'BatchMode=yes', VM_HOST, 'echo', 'back-in'], { ...stack.env, SSH_AUTH_SOCK: '', DISPLAY: '' })
    try {
      const shown = await run.waitFor(/https:\/\/\S+\/device\?user_code=[A-Z]{4}-[A-Z]{4}/)
      await answerDeviceCode(browser, /(https:\/\/\S+\/device\?user_code=[A-Z]{4}-[A-Z]{4})/.exec(shown)![1]!, { username: 'alice', password: 'correct horse battery staple' })
      const { code, output } = await run.exited
      expect(code, output).toBe(0)
      expect(output).toContain('has ended (session has been revoked); logging in again.')
      expect(output).toContain('back-in')
    } finally {
      run.kill()
    }
  })

  it("a revocation in a session with a terminal: the line starts on a line of its own and ends with CR LF (ssh's raw mode)", async () => {
    const run = runOnPty([SSH_PATH, '-tt', '-F', stack.sshConfigPath, '-o', 'BatchMode=yes', VM_HOST, 'printf prompt-here; sleep 60'], { ...stack.env, SSH_AUTH_SOCK: '', DISPLAY: '' })
    try {
      await run.waitFor(/prompt-here/)
      await endSession('by an admin')
      const { output } = await run.exited
      expect(output).toMatch(/prompt-here\r\njitssh: the server closed the connection to vm\.example\.com:22: session revoked \(by an admin\) \(run: jitssh login\)\r\n/)
    } finally {
      run.kill()
    }
  })
})
