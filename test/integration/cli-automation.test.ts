// The CLI as a service account (issue 14), in-process against a real jitssh-server and a GitHub-Actions-shaped
// issuer on loopback: `jitssh login --github-actions | --id-token-file | --client-id (--client-key |
// --client-secret-file)` keeps no refresh token; ssh-gen renews by itself and, when it cannot, fails with one
// line and never opens a browser (the test context fails on any browser open); `jitssh agent` on a shared
// test clock renews at a third of the remaining life, stops cleanly on a signal, and exits non-zero when a
// certificate expires unrenewed; `jitssh service-accounts` for admins.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseCertificate } from '../../src/ssh/certificate.js'
import { hashPassword } from '../../src/server/identity/password-hash.js'
import { makeTempHome, removeTempHome, runCli, type CliOptions, type CliResult } from '../helpers/cli.js'
import { startTestServer, testClock, type TestServer } from '../helpers/server.js'
import { createStubBrowser } from '../helpers/stub-browser.js'
import { GITHUB_CLAIMS, startWorkloadIssuer, type WorkloadIssuer } from '../helpers/workload-issuer.js'

const AUDIENCE = 'https://access.example.com'
const HOST = 'app.example.com'
const clock = testClock()
const SECRET = randomBytes(24).toString('base64url')
const clientKey = generateKeyPairSync('ed25519')
let gha: WorkloadIssuer
let srv: TestServer
const homes: string[] = []

beforeAll(async () => {
  gha = await startWorkloadIssuer({ now: clock.now })
  srv = await startTestServer({
    now: clock.now,
    targets: { [HOST]: '127.0.0.1:9', 'web.example.com': '127.0.0.1:9' },
    policy: [{ name: 'bots', service_accounts: ['deploy-bot', 'jenkins-bot'], hosts: ['*.example.com'], principals: ['deploy'] }],
    config: {
      admins: { groups: ['ops'] },
      service_accounts: [
        {
          name: 'deploy-bot', owner: 'platform@example.com', hosts: [HOST, 'web.example.com'], principals: ['deploy'], max_ttl: '30s',
          trusts: [{ name: 'gha-deploy', issuer: gha.url, audience: AUDIENCE, claims: { repository_id: GITHUB_CLAIMS.repository_id } }],
        },
        {
          name: 'jenkins-bot', owner: 'ci@example.com', hosts: [HOST], principals: ['deploy'], max_ttl: '5m',
          clients: [
            { id: 'jenkins-key', public_key: clientKey.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
            { id: 'jenkins-secret', secret_hash: await hashPassword(SECRET, { N: 1024, r: 8, p: 1 }) },
          ],
        },
      ],
    },
  })
})
afterAll(async () => {
  await srv?.stop()
  await gha?.stop()
  for (const home of homes) await removeTempHome(home)
})

async function newHome(): Promise<string> {
  const home = await makeTempHome()
  homes.push(home)
  return home
}

const ghaEnv = (): Record<string, string> => ({ ACTIONS_ID_TOKEN_REQUEST_URL: gha.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: gha.requestToken })
const cli = (home: string, args: string[], options: Partial<CliOptions> = {}): Promise<CliResult> => runCli(args, { home, now: clock.now, ...options })
const certOf = (home: string, host = HOST) => parseCertificate(readFileSync(join(home, '.jitssh', 'certs', `${host}-cert.pub`), 'utf8'))
const sessionsOf = async (user: string) => (await srv.server.store.admin.listSessions({ now: clock.now(), includeEnded: true, userEmail: user, limit: 100 }))

describe('jitssh login --github-actions', () => {
  let home: string
  beforeAll(async () => {
    home = await newHome()
  })

  it('logs in as the service account from the job\'s OIDC token; keeps no refresh token and no secret', async () => {
    const login = await cli(home, ['login', '--github-actions', '--audience', AUDIENCE, '--server', srv.url], { env: ghaEnv() })
    expect(login.code, login.stderr).toBe(0)
    expect(login.stderr).toContain('as service:deploy-bot')
    expect(existsSync(join(home, '.jitssh', 'credentials.json'))).toBe(false)
    const config = readFileSync(join(home, '.jitssh', 'config.json'), 'utf8')
    expect(JSON.parse(config).servers[srv.url].automation).toEqual({ method: 'github-actions', audience: AUDIENCE })
    expect(config).not.toContain(gha.requestToken)
  })

  it('ssh-gen signs without a browser; once the access token is gone it asks the runner for a new ID token', async () => {
    const first = await cli(home, ['ssh-gen', '--hostname', HOST], { env: ghaEnv() })
    expect(first.code, first.stderr).toBe(0)
    expect(certOf(home).principals).toEqual(['deploy'])
    const before = gha.tokenRequests()
    clock.advance(11 * 60_000)
    const again = await cli(home, ['ssh-gen', '--hostname', HOST], { env: ghaEnv() })
    expect(again.code, again.stderr).toBe(0)
    expect(gha.tokenRequests()).toBe(before + 1)
  })

  it('when it cannot renew, ssh-gen fails with one line (exit 4) and opens no browser', async () => {
    clock.advance(11 * 60_000)
    const failed = await cli(home, ['ssh-gen', '--hostname', HOST], { env: { DISPLAY: ':0' } })
    expect(failed.code).toBe(4)
    expect(failed.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(failed.stderr).toMatch(/^jitssh: cannot renew the login at http:\/\/127\.0\.0\.1:\d+ with GitHub Actions OIDC: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set/)
  })

  it('a disabled account: one line naming the server\'s reason', async () => {
    clock.advance(11 * 60_000)
    await srv.server.store.users.setDisabled('service:deploy-bot', true, clock.now(), 'test', null)
    try {
      const failed = await cli(home, ['ssh-gen', '--hostname', HOST], { env: ghaEnv() })
      expect(failed.code).toBe(4)
      expect(failed.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(failed.stderr).toContain('the server refused it: token exchange refused (account_disabled)')
    } finally {
      await srv.server.store.users.setDisabled('service:deploy-bot', false, clock.now(), 'test', null)
    }
  })

  it('logout ends the session at the server', async () => {
    const status = await cli(home, ['status', '--json'], { env: ghaEnv() })
    expect(status.code, status.stderr).toBe(0)
    const sid = (JSON.parse(status.stdout) as { identity: { session_id: string } }).identity.session_id
    expect((await cli(home, ['logout'])).code).toBe(0)
    expect((await srv.server.store.sessions.get(sid))?.revokedAt).not.toBeNull()
    expect(JSON.parse(readFileSync(join(home, '.jitssh', 'config.json'), 'utf8')).servers[srv.url].automation).toBeUndefined()
  })
})

describe('jitssh login --client-id, --id-token-file', () => {
  it('--client-key: a private_key_jwt assertion per login and per renewal', async () => {
    const home = await newHome()
    writeFileSync(join(home, 'key.pem'), clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
    const login = await cli(home, ['login', '--client-id', 'jenkins-key', '--client-key', 'key.pem', '--server', srv.url], { cwd: home })
    expect(login.code, login.stderr).toBe(0)
    expect(login.stderr).toContain('as service:jenkins-bot')
    clock.advance(11 * 60_000)
    expect((await cli(home, ['ssh-gen', '--hostname', HOST])).code).toBe(0)
    expect((await sessionsOf('service:jenkins-bot')).filter((s) => s.grant === 'client_credentials').length).toBeGreaterThanOrEqual(2)
  })

  it('--client-secret-file: the secret from a file, never copied into jitssh\'s files', async () => {
    const home = await newHome()
    writeFileSync(join(home, 'secret'), `${SECRET}\n`, { mode: 0o600 })
    const login = await cli(home, ['login', '--client-id', 'jenkins-secret', '--client-secret-file', join(home, 'secret'), '--server', srv.url])
    expect(login.code, login.stderr).toBe(0)
    for (const name of readdirSync(join(home, '.jitssh'))) {
      const path = join(home, '.jitssh', name)
      if (statSync(path).isFile()) expect(readFileSync(path, 'utf8')).not.toContain(SECRET)
    }
  })

  it('a wrong secret: login fails with the server\'s reason, exit 4', async () => {
    const home = await newHome()
    writeFileSync(join(home, 'secret'), 'wrong', { mode: 0o600 })
    const login = await cli(home, ['login', '--client-id', 'jenkins-secret', '--client-secret-file', join(home, 'secret'), '--server', srv.url])
    expect(login.code).toBe(4)
    expect(login.stderr).toMatch(/cannot log in to .* with client jenkins-secret \(client secret\): the server refused it: client authentication failed \(bad_secret\)/)
  })

  it('--id-token-file: the token is read at each renewal, and used once (a stale file cannot renew: replayed)', async () => {
    const home = await newHome()
    const file = join(home, 'token')
    writeFileSync(file, await gha.mint({ aud: AUDIENCE }))
    expect((await cli(home, ['login', '--id-token-file', file, '--server', srv.url])).code).toBe(0)
    clock.advance(11 * 60_000)
    const stale = await cli(home, ['ssh-gen', '--hostname', HOST])
    expect(stale.code).toBe(4)
    expect(stale.stderr).toMatch(/\((replayed|expired)\)/)
    writeFileSync(file, await gha.mint({ aud: AUDIENCE }))
    expect((await cli(home, ['ssh-gen', '--hostname', HOST])).code).toBe(0)
  })
})

describe('jitssh agent', () => {
  /** A sleep that moves the shared clock instead of waiting (and honours the signal). */
  const fakeSleep = (onSleep: (ms: number) => void | Promise<void> = () => undefined) => async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw new Error('aborted')
    await onSleep(ms)
    clock.advance(ms)
    await new Promise((resolve) => setImmediate(resolve))
    if (signal?.aborted) throw new Error('aborted')
  }

  it('--oneshot writes the key (0600), a certificate per host, known_hosts and ssh_config, and exits 0', async () => {
    const home = await newHome()
    expect((await cli(home, ['login', '--github-actions', '--audience', AUDIENCE, '--server', srv.url], { env: ghaEnv() })).code).toBe(0)
    const out = join(home, 'agent')
    const run = await cli(home, ['agent', '--out', out, '--oneshot', '--ssh-config'], { env: ghaEnv() })
    expect(run.code, run.stderr).toBe(0)
    expect(statSync(join(out, 'id_ed25519')).mode & 0o777).toBe(0o600)
    // Every host the account may reach now (policy ∩ its own hosts), from /v1/hosts.
    expect(readdirSync(out).filter((name) => name.endsWith('-cert.pub')).sort()).toEqual([`${HOST}-cert.pub`, 'web.example.com-cert.pub'])
    expect(readFileSync(join(out, 'known_hosts'), 'utf8')).toMatch(/^@cert-authority \* ssh-ed25519 /)
    expect(readFileSync(join(out, 'ssh_config'), 'utf8')).toContain(`CertificateFile ${join(out, `${HOST}-cert.pub`)}`)
  })

  it('refuses a directory it did not write; on its own directory a new run starts afresh (new key, stale files gone)', async () => {
    const home = await newHome()
    expect((await cli(home, ['login', '--github-actions', '--audience', AUDIENCE, '--server', srv.url], { env: ghaEnv() })).code).toBe(0)
    writeFileSync(join(home, 'notes.txt'), 'mine')
    const refused = await cli(home, ['agent', '--out', home, '--oneshot'], { env: ghaEnv() })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('is not empty and not a jitssh agent\'s directory')
    const out = join(home, 'agent')
    expect((await cli(home, ['agent', '--out', out, '--oneshot', '--hostname', 'web.example.com'], { env: ghaEnv() })).code).toBe(0)
    const firstKey = readFileSync(join(out, 'id_ed25519'), 'utf8')
    expect((await cli(home, ['agent', '--out', out, '--oneshot', '--hostname', HOST], { env: ghaEnv() })).code).toBe(0)
    expect(readFileSync(join(out, 'id_ed25519'), 'utf8')).not.toBe(firstKey)
    expect(readdirSync(out).filter((name) => name.endsWith('-cert.pub'))).toEqual([`${HOST}-cert.pub`])
  })

  it('renews a third of the way into each certificate\'s remaining life, and stops with exit 0 on SIGTERM', async () => {
    const home = await newHome()
    expect((await cli(home, ['login', '--github-actions', '--audience', AUDIENCE, '--server', srv.url], { env: ghaEnv() })).code).toBe(0)
    const out = join(home, 'agent')
    const stop = new AbortController()
    const sleeps: number[] = []
    const serials = new Set<string>()
    const run = cli(home, ['agent', '--out', out, '--hostname', HOST], {
      env: ghaEnv(),
      signal: stop.signal,
      sleep: fakeSleep((ms) => {
        sleeps.push(ms)
        serials.add(parseCertificate(readFileSync(join(out, `${HOST}-cert.pub`), 'utf8')).serial.toString())
        if (sleeps.length === 6) stop.abort()
      }),
    })
    const result = await run
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain('stopped')
    // 30 s certificates: each renewal 10 s after the last (a third of 30 s).
    expect(sleeps.slice(0, 5).every((ms) => Math.abs(ms - 10_000) <= 1_000)).toBe(true)
    expect(serials.size).toBe(6)
    expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })

  it('exits non-zero when a certificate cannot be renewed before it expires (the account was disabled)', async () => {
    const home = await newHome()
    expect((await cli(home, ['login', '--github-actions', '--audience', AUDIENCE, '--server', srv.url], { env: ghaEnv() })).code).toBe(0)
    let slept = 0
    const result = await cli(home, ['agent', '--out', join(home, 'agent'), '--hostname', HOST], {
      env: ghaEnv(),
      sleep: fakeSleep(async () => {
        if (++slept === 2) await disable()
      }),
    })
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/warning: cannot renew the certificate for app\.example\.com/)
    expect(result.stderr).toMatch(/jitssh: could not renew the certificate for app\.example\.com before it expired/)
    await srv.server.store.users.setDisabled('service:deploy-bot', false, clock.now(), 'test', null)
  })
})

/** What the admin API's disable does: the store flag, then every session of the account revoked. */
async function disable(): Promise<void> {
  await srv.server.store.users.setDisabled('service:deploy-bot', true, clock.now(), 'test', null)
  for (const session of await sessionsOf('service:deploy-bot')) if (session.revokedAt === null) await srv.server.context.sessions.revoke(session.id, 'test', { user: null })
}

describe('jitssh service-accounts (admins)', () => {
  it('lists, disables, enables and revokes', async () => {
    const home = await newHome()
    const login = await cli(home, ['login', '--server', srv.url], { env: { DISPLAY: ':0' }, openBrowser: createStubBrowser({ username: 'bob' }).open })
    expect(login.code, login.stderr).toBe(0)
    const ls = await cli(home, ['service-accounts', 'ls'])
    expect(ls.code, ls.stderr).toBe(0)
    expect(ls.stdout).toMatch(/^NAME\s+OWNER\s+STATE/)
    expect(ls.stdout).toMatch(/deploy-bot\s+platform@example\.com\s+enabled\s+app\.example\.com,web\.example\.com\s+deploy\s+30s\s+trust gha-deploy/)
    const disabled = await cli(home, ['service-accounts', 'disable', 'jenkins-bot', '--reason', 'rotating keys'])
    expect(disabled.stdout).toMatch(/^Disabled service:jenkins-bot: revoked \d+ sessions?; closed 0 live tunnels\.\n$/)
    expect(JSON.parse((await cli(home, ['service-accounts', 'ls', '--json'])).stdout).service_accounts[1].disabled_by_admin).toMatchObject({ disabled_by: 'bob@example.com', reason: 'rotating keys' })
    expect((await cli(home, ['service-accounts', 'enable', 'jenkins-bot'])).stdout).toBe('Enabled service:jenkins-bot: it can authenticate again.\n')
    expect((await cli(home, ['service-accounts', 'revoke', 'deploy-bot'])).stdout).toMatch(/^Revoked \d+ sessions? of service:deploy-bot; closed 0 live tunnels\.\n$/)
    const unknown = await cli(home, ['service-accounts', 'disable', 'nobody'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('no service account named "nobody"')
  })
})
