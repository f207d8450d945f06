// Just-in-time access requests with real parts (issue 12): a real sshd behind the bastion, the real ssh
// client with the jitssh block, the built CLI in two homes (alice asks, bob approves), and headless Chromium
// on the review page. db.example.com is reachable only through an approved request.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { userInfo } from 'node:os'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildRevocationKrl } from '../../src/server/revocation/revocation-krl.js'
import { launchChromium, signInAt } from '../helpers/chromium.js'
import { TEST_PASSWORD } from '../helpers/server.js'
import { runTool, SSH_PATH, startSshd, type RunningSshd } from '../helpers/sshd.js'
import { DENIED_HOST, JITSSH_BIN, REPO_ROOT, startStack, VM_HOST, type Stack, type StackHome } from '../helpers/stack.js'

const DB = DENIED_HOST
const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots')

describe('access requests end to end', { timeout: 180_000 }, () => {
  let stack: Stack
  let browser: Browser
  let approver: StackHome
  const directSshds: RunningSshd[] = []

  beforeAll(async () => {
    const login = userInfo().username
    ;[stack, browser] = await Promise.all([
      startStack({
        users: [
          { username: 'alice', email: 'alice@example.com', groups: ['dev'] },
          { username: 'bob', email: 'bob@example.com', groups: ['ops'] },
        ],
        policy: [
          { name: 'e2e', groups: ['dev'], hosts: [VM_HOST], principals: [login], max_ttl: '10m' },
          { name: 'db-on-request', groups: ['dev'], hosts: [DB], principals: [login], max_ttl: '10m', request: { max_duration: '1h', approvers: { groups: ['ops'] }, reason_prompt: 'ticket' } },
        ],
      }),
      launchChromium(),
    ])
    approver = stack.addHome()
    expect((await stack.loginWithBrowser(browser)).code).toBe(0)
    expect((await approver.loginWithBrowser(browser, { username: 'bob', password: TEST_PASSWORD })).code).toBe(0)
    expect((await stack.jitssh(['ssh-config', '--hostname', DB, '--short-lived-cert', '--write'])).code).toBe(0)
    mkdirSync(SCREENSHOTS, { recursive: true })
  }, 90_000)
  afterAll(async () => {
    await Promise.allSettled([browser?.close(), stack?.stop(), ...directSshds.map((sshd) => sshd.stop())])
  })

  it('denies ssh with the exact request command; request create --wait returns once bob approves from his CLI, and the same ssh then works', async () => {
    const denied = await stack.ssh([DB, 'id', '-un'])
    expect(denied.code).not.toBe(0)
    expect(denied.stderr).toContain(`jitssh: access to ${DB} denied: ${DB} needs an approved access request for alice@example.com (rule "db-on-request") (ask: jitssh request create --host ${DB} --login ${userInfo().username} --duration 1h --reason "ticket")`)

    const waiting = spawn(process.execPath, [JITSSH_BIN, 'request', 'create', '--host', DB, '--duration', '10m', '--reason', 'INC-1: check replication', '--wait'], {
      env: { ...process.env, ...stack.env, SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    waiting.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    const exited = once(waiting, 'exit')
    const id = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /^Requested (req-[a-z0-9]{10}):/m.exec(out)
        if (!match) return
        clearInterval(timer)
        resolve(match[1]!)
      }, 50)
      waiting.once('exit', () => {
        clearInterval(timer)
        reject(new Error(`request create exited early:\n${out}`))
      })
    })
    // bob sees it waiting for him, and approves.
    const listed = await approver.jitssh(['request', 'ls', '--review'])
    expect(listed.stdout).toContain(id)
    expect(listed.stdout).toContain('INC-1: check replication')
    // alice cannot approve her own request.
    const self = await stack.jitssh(['request', 'review', id, '--approve'])
    expect(self.code).not.toBe(0)
    expect(self.stderr).toContain('alice@example.com cannot review their own request')
    const approved = await approver.jitssh(['request', 'review', id, '--approve', '--reason', 'checked the ticket'])
    expect(approved.stdout).toMatch(new RegExp(`^${id} approved: alice@example.com may use ${userInfo().username}@${DB.replace(/\./g, '\\.')} until `))
    const [code] = (await exited) as [number]
    expect(out).toMatch(/Approved: .* is usable now, until .* \(use it by .*\)\./)
    expect(code).toBe(0)

    const ssh = await stack.ssh([DB, 'id', '-un'])
    expect(ssh.stderr).toBe('')
    expect(ssh.stdout.trim()).toBe(userInfo().username)
    const shown = await stack.jitssh(['request', 'show', id])
    expect(shown.stdout).toMatch(/^state +active$/m)
  })

  it('revoked early: the grant\'s certificate goes on the KRL and an sshd reached directly with that KRL refuses it', async () => {
    const mine = JSON.parse((await stack.jitssh(['request', 'ls', '--json'])).stdout) as { requests: Array<{ id: string; state: string }> }
    const active = mine.requests.find((request) => request.state === 'active')!
    // A second sshd that trusts the CA and reads the KRL: the certificate from the first test logs in there...
    const krlPath = join(stack.home, 'jitssh.krl')
    const writeKrl = async () => writeFileSync(krlPath, (await buildRevocationKrl(stack.server.server.store, stack.keys.userCa.publicKey, Date.now())).bytes)
    await writeKrl()
    const direct = await startSshd({ trustedUserCaKeys: stack.keys.userCaLine, revokedKeysPath: krlPath })
    directSshds.push(direct)
    const key = join(stack.home, '.jitssh', 'certs', DB)
    const directSsh = () => runTool(SSH_PATH, ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes',
      '-i', key, '-o', `CertificateFile=${key}-cert.pub`, '-p', String(direct.port), `${direct.user}@127.0.0.1`, 'true'], { env: { SSH_AUTH_SOCK: '' } })
    expect((await directSsh()).code).toBe(0)
    // ...until the grant is revoked.
    const revoked = await stack.jitssh(['request', 'revoke', active.id, '--reason', 'done early'])
    expect(revoked.stdout).toBe(`Revoked ${active.id}: its tunnels are closed and its certificates are on the KRL.\n`)
    await writeKrl()
    const refused = await directSsh()
    expect(refused.code).toBe(255)
    expect(direct.logText()).toMatch(/revoked/i)
    // And through the bastion, a fresh signature is refused with the request hint again.
    const again = await stack.ssh([DB, 'true'], { env: { JITSSH_CERT_MARGIN: '86400' } })
    expect(again.code).not.toBe(0)
    expect(again.stderr).toContain('(ask: jitssh request create')
  })

  it('bob approves a 20 s request on the review page in Chromium; the grant ends a live ssh when its time is up and the next ssh is refused', async () => {
    const created = await stack.jitssh(['request', 'create', '--host', DB, '--duration', '20s', '--reason', 'INC-2: one quick look'])
    const id = /^Requested (req-[a-z0-9]{10}):/m.exec(created.stdout)?.[1]
    expect(id).toBeDefined()
    const reviewUrl = /^Review page: (\S+)$/m.exec(created.stdout)?.[1]
    expect(reviewUrl).toBe(`${stack.server.url}/requests/${id}`)

    const page = await signInAt(browser, reviewUrl!, { username: 'bob', password: TEST_PASSWORD })
    expect(page.url()).toBe(reviewUrl)
    await expect(page.locator('h1').innerText()).resolves.toBe(`Access request ${id}`)
    const details = await page.locator('dl').innerText()
    expect(details).toContain('alice@example.com')
    expect(details).toContain('INC-2: one quick look')
    expect(await page.locator('body').innerText()).toContain('Recent requests of alice@example.com')
    await page.screenshot({ path: join(SCREENSHOTS, 'access-request-review.png'), fullPage: true })
    await page.fill('textarea[name="reason"]', 'ok for 20 s')
    await Promise.all([page.waitForURL(`${reviewUrl}?done=approve`), page.click('button[value="approve"]')])
    expect(await page.locator('[role="status"]').innerText()).toBe('You approved this request.')
    expect(await page.locator('dl').innerText()).toMatch(/State\s+approved/)
    await page.screenshot({ path: join(SCREENSHOTS, 'access-request-approved.png'), fullPage: true })
    await page.context().close()

    const started = Date.now()
    const ssh = await stack.ssh([DB, 'sleep', '60'], { env: { JITSSH_CERT_MARGIN: '0' } })
    const lasted = Date.now() - started
    expect(ssh.code).not.toBe(0)
    expect(lasted).toBeLessThan(25_000)
    expect(ssh.stderr).toMatch(new RegExp(`jitssh: access to ${DB.replace(/\./g, '\\.')}:22 denied: grant\\.ended: the access grant ${id} for ${DB.replace(/\./g, '\\.')} has ended`))
    console.log(`the 20 s grant ended a live ssh after ${lasted} ms`)
    const next = await stack.ssh([DB, 'true'])
    expect(next.code).not.toBe(0)
    expect(next.stderr).toContain('needs an approved access request')
    const shown = JSON.parse((await stack.jitssh(['request', 'show', id!, '--json'])).stdout) as { state: string; reviews: Array<{ reviewer: string; reason: string }> }
    expect(shown.state).toBe('ended')
    expect(shown.reviews).toEqual([expect.objectContaining({ reviewer: 'bob@example.com', reason: 'ok for 20 s' })])
  })
})
