/**
 * `jitssh doctor`, proven by breaking a real setup each way (real server, sshd, built CLI, ssh, Chromium) and
 * asserting the cause it names and its exit code: the sshd not trusting the user CA, a login that is not a
 * principal, a shadowing block, a skewed clock (the CLI's, injected), the target down, an expired session.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../src/client/doctor/report.js'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { launchChromium } from '../helpers/chromium.js'
import { runCli } from '../helpers/cli.js'
import { freeLoopbackPort } from '../helpers/sshd.js'
import { startStack, VM_HOST, type Stack } from '../helpers/stack.js'

const DOWN_HOST = 'down.example.com'
let stack: Stack
let browser: Browser
/** The server's clock runs this far ahead of the real one (the expired-session case). */
let serverOffset = 0

async function doctor(target: string): Promise<{ code: number | null; report: DoctorReport; stderr: string }> {
  const r = await stack.jitssh(['doctor', target, '--json', '--config', stack.sshConfigPath])
  return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport, stderr: r.stderr }
}
const statuses = (report: DoctorReport) => Object.fromEntries(report.checks.map((check) => [check.id, check.status]))

beforeAll(async () => {
  const user = userInfo().username
  ;[stack, browser] = await Promise.all([
    startStack({
      policy: [{ name: 'e2e', groups: ['dev'], hosts: [VM_HOST, DOWN_HOST], principals: [user], max_ttl: '10m' }],
      extraTargets: { [DOWN_HOST]: `127.0.0.1:${await freeLoopbackPort()}` },
      serverConfig: { sessions: { lifetime: '1h' } },
      serverNow: () => Date.now() + serverOffset,
    }),
    launchChromium(),
  ])
  expect((await stack.loginWithBrowser(browser)).code).toBe(0)
  expect((await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--hostname', DOWN_HOST, '--write'])).code).toBe(0)
  expect((await stack.ssh([VM_HOST, 'true'])).code).toBe(0)
}, 90_000)

afterAll(async () => {
  await Promise.allSettled([browser?.close(), stack?.stop()])
})

describe('jitssh doctor on a real setup', { timeout: 90_000 }, () => {
  it('a working setup: every check passes, in order, exit 0; the human form says so', async () => {
    const { code, report } = await doctor(VM_HOST)
    expect(report.checks.map((check) => check.id)).toEqual(['server', 'session', 'clock', 'openssh', 'route', 'certificate', 'agent', 'known_hosts', 'policy', 'bastion', 'ssh'])
    expect(report.checks.filter((check) => check.status !== 'pass'), JSON.stringify(report, null, 2)).toEqual([])
    expect(code).toBe(0)
    expect(report).toMatchObject({ version: 1, server: stack.server.url, host: VM_HOST, login: stack.sshd.user, cause: null, exit_code: 0 })
    expect(report.checks.find((check) => check.id === 'bastion')?.summary).toMatch(/^the bastion reaches vm\.example\.com:22: SSH-2\.0-OpenSSH_.+; host certificate from the jitssh host CA$/)
    const text = await stack.jitssh(['doctor', VM_HOST, '--config', stack.sshConfigPath])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^PASS {2}route +ssh vm\.example\.com goes through jitssh's ProxyCommand with its certificate, as \S+$/m)
    expect(text.stdout.trim().split('\n').at(-1)).toBe('Everything checked works.')
    // Without a host: the machine-wide checks; those of a host are skipped, saying why.
    const general = await stack.jitssh(['doctor', '--json'])
    const report2 = JSON.parse(general.stdout) as DoctorReport
    expect(general.code).toBe(0)
    expect(statuses(report2)).toEqual({ server: 'pass', session: 'pass', clock: 'pass', openssh: 'pass', route: 'skip', certificate: 'skip', agent: 'pass', known_hosts: 'pass', policy: 'skip', bastion: 'skip', ssh: 'skip' })
  })

  it("the target's sshd does not trust the user CA: the ssh check names it (exit 1)", async () => {
    const trusted = join(stack.sshd.dir, 'trusted_user_ca_keys')
    const original = readFileSync(trusted, 'utf8')
    writeFileSync(trusted, `${formatPublicKey(generateKeyPair().publicKey, 'another-ca')}\n`)
    try {
      const { code, report } = await doctor(VM_HOST)
      expect(report.cause?.cause).toBe('ssh.certificate_refused')
      expect(report.cause?.summary).toMatch(/refused the jitssh certificate for \S+: it does not trust the jitssh user CA \(TrustedUserCAKeys\)/)
      expect(report.cause?.fix).toMatch(/jitssh-server target-setup --hostname vm\.example\.com/)
      expect(statuses(report)).toMatchObject({ certificate: 'pass', policy: 'pass', bastion: 'pass', ssh: 'fail' })
      expect(code).toBe(1)
    } finally {
      writeFileSync(trusted, original)
    }
  })

  it('a login that is not a principal of the certificate: the certificate check names it (exit 1)', async () => {
    const { code, report } = await doctor(`nobody@${VM_HOST}`)
    expect(report.login).toBe('nobody')
    expect(report.cause).toMatchObject({ check: 'certificate', cause: 'certificate.principal' })
    expect(report.cause?.summary).toBe(`the certificate for ${VM_HOST} allows ${stack.sshd.user}, but ssh logs in as nobody`)
    expect(report.checks.find((check) => check.id === 'policy')).toMatchObject({ status: 'fail', cause: 'policy.login' })
    expect(code).toBe(1)
  })

  it('a block that shadows ours (an earlier Host *.example.com with a ProxyJump): the route check names file and line (exit 1)', async () => {
    const original = readFileSync(stack.sshConfigPath, 'utf8')
    writeFileSync(stack.sshConfigPath, `# theirs\nHost *.example.com\n    ProxyJump jump.example.com\n\n${original}`)
    try {
      const { code, report } = await doctor(VM_HOST)
      expect(report.cause).toMatchObject({ check: 'route', cause: 'route.shadowed' })
      expect(report.cause?.summary).toBe(`ssh ${VM_HOST} would not go through jitssh: "ProxyJump jump.example.com" in ${stack.sshConfigPath} line 3 (Host *.example.com) comes first, and ssh keeps the first value it reads`)
      expect(code).toBe(1)
    } finally {
      writeFileSync(stack.sshConfigPath, original)
    }
  })

  it('a block naming a program that is gone (an old block that ran node directly, Node moved): the route check names it (exit 1)', async () => {
    const original = readFileSync(stack.sshConfigPath, 'utf8')
    const launcher = join(stack.env.JITSSH_HOME!, 'bin', 'jitssh')
    writeFileSync(stack.sshConfigPath, original.replaceAll(`'${launcher}'`, "'/opt/old-node/bin/node' '/opt/old-jitssh/bin/jitssh.js'"))
    try {
      const { code, report } = await doctor(VM_HOST)
      expect(report.cause).toMatchObject({ check: 'route', cause: 'route.missing_program', fix: `jitssh ssh-config --hostname ${VM_HOST} --write (writes the block with the current paths)` })
      expect(report.cause?.summary).toBe(`the jitssh block for ${VM_HOST} runs /opt/old-node/bin/node, which does not exist (Node or jitssh moved or was upgraded?)`)
      expect(code).toBe(1)
    } finally {
      writeFileSync(stack.sshConfigPath, original)
    }
  })

  it('a launcher whose recorded jitssh is gone, and none on PATH: the route check names the stale launcher (exit 1)', async () => {
    const launcher = join(stack.env.JITSSH_HOME!, 'bin', 'jitssh')
    const original = readFileSync(launcher, 'utf8')
    writeFileSync(launcher, original.replaceAll(process.execPath, '/opt/old-node/bin/node'))
    try {
      const { code, report } = await doctor(VM_HOST)
      expect(report.cause).toMatchObject({ check: 'route', cause: 'route.launcher', fix: `reinstall jitssh, then run: jitssh ssh-config --hostname ${VM_HOST} --write` })
      expect(report.cause?.summary).toMatch(new RegExp(`^the launcher ${launcher.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} runs /opt/old-node/bin/node.* no jitssh is on PATH$`))
      expect(code).toBe(1)
    } finally {
      writeFileSync(launcher, original)
    }
  })

  it("this machine's clock 10 minutes ahead (the CLI's clock, injected): the clock check names it (exit 1)", async () => {
    const r = await runCli(['doctor', VM_HOST, '--json', '--config', stack.sshConfigPath], { home: stack.home, env: stack.env, now: () => Date.now() + 10 * 60_000 })
    const report = JSON.parse(r.stdout) as DoctorReport
    expect(report.cause).toMatchObject({ check: 'clock', cause: 'clock.skew' })
    expect(report.cause?.summary).toMatch(/^this machine's clock is (9 min 5\d s|10 min( \d s)?) ahead of the server's$/)
    expect(r.code).toBe(1)
  })

  it('the target down: the bastion check names it (exit 1)', async () => {
    const { code, report } = await doctor(DOWN_HOST)
    expect(report.cause).toMatchObject({ check: 'bastion', cause: 'target.unreachable' })
    expect(report.cause?.summary).toMatch(/^down\.example\.com:22 is unreachable from the jitssh server/)
    expect(statuses(report)).toMatchObject({ server: 'pass', session: 'pass', route: 'pass', policy: 'pass', bastion: 'fail' })
    expect(code).toBe(1)
  })

  it('an expired session (the server\'s clock past its end): the session check names it, exit 4', async () => {
    serverOffset = 2 * 3600_000
    try {
      const { code, report } = await doctor(VM_HOST)
      expect(report.cause).toMatchObject({ check: 'session', cause: 'session.ended', fix: 'run: jitssh login' })
      expect(report.cause?.summary).toBe(`your session at ${stack.server.url} has ended (session has ended)`)
      expect(code).toBe(4)
    } finally {
      serverOffset = 0
    }
  })
})
