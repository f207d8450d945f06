// `jitssh-server target-setup` writes what a target needs (issue 13's "the bastion behind sshd's limits",
// and a first target without reading sshd_config(5)). The proof is a real sshd whose only jitssh trust is
// the generated files: it is Included first (sshd keeps a keyword's first value), and the sshd's own
// TrustedUserCAKeys is another CA. A certificate from the server logs in; one whose session was revoked
// before the setup is refused by the KRL it wrote, and the refresh script picks up a later revocation.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateServerKeys, loadServerKeys } from '../../src/server/ca/server-keys.js'
import { encodePrivateKey, formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { loginWithPassword, runServerCli, startTestServer, type TestServer } from '../helpers/server.js'
import { runSsh, runSshKeygen, runTool, SSH_PATH, startSshd, type RunningSshd } from '../helpers/sshd.js'

let dir: string
let srv: TestServer
const sshds: RunningSshd[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-target-setup-'))
  srv = await startTestServer({ targets: { 'vm.example.com': '127.0.0.1:22' }, policy: [{ name: 'all', users: ['alice'], hosts: ['*'], principals: ['{email_local}', process.env.USER ?? 'root'] }] })
  // The KRL is fetched from public_url: the same port again, now written into the config.
  await srv.restart({ targets: { 'vm.example.com': '127.0.0.1:22' }, policy: [{ name: 'all', users: ['alice'], hosts: ['*'], principals: ['{email_local}', process.env.USER ?? 'root'] }], config: { public_url: srv.url } })
}, 60_000)
afterAll(async () => {
  await Promise.allSettled(sshds.map((sshd) => sshd.stop()))
  await srv?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** A fresh key and a certificate for vm.example.com on disk; the session's refresh token to revoke it. */
async function certificate(hostname = 'vm.example.com'): Promise<{ keyPath: string; refreshToken: string }> {
  const alice = await loginWithPassword(srv.url, 'alice')
  const pair = generateKeyPair('ssh-ed25519')
  const response = await fetch(`${srv.url}/v1/ssh/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ public_key: formatPublicKey(pair.publicKey), hostname }),
  })
  expect(response.status).toBe(200)
  const keyPath = join(dir, `alice-${Math.random().toString(36).slice(2)}`)
  writeFileSync(keyPath, encodePrivateKey(pair), { mode: 0o600 })
  writeFileSync(`${keyPath}-cert.pub`, `${((await response.json()) as { certificate: string }).certificate}\n`)
  return { keyPath, refreshToken: alice.refresh_token! }
}

async function revoke(refreshToken: string): Promise<void> {
  const response = await fetch(`${srv.url}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: refreshToken, client_id: 'jitssh-cli' }) })
  expect(response.status).toBe(200)
}

const login = (sshd: RunningSshd, keyPath: string) => runSsh(['-i', keyPath, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, 'echo', 'in-through-target-setup'])

describe('jitssh-server target-setup', () => {
  it('writes files a real sshd trusts: the CA, the KRL with what was revoked, and a refresh script that keeps it current', async () => {
    const revokedEarlier = await certificate()
    await revoke(revokedEarlier.refreshToken)
    const fine = await certificate()
    const later = await certificate()

    const etc = join(dir, 'etc')
    const hostKey = join(dir, 'ssh_host_ed25519_key')
    expect((await runSshKeygen(['-q', '-t', 'ed25519', '-N', '', '-f', hostKey])).code).toBe(0)
    const result = await runServerCli(['target-setup', '--config', srv.configPath, '--hostname', 'vm.example.com', '--key', `${hostKey}.pub`, '--ssh-dir', etc, '--sshd-version', '9.2', '--out', etc])
    expect(result.stderr).toContain('jitssh.conf')
    expect(result.code).toBe(0)
    const conf = readFileSync(join(etc, 'jitssh.conf'), 'utf8')
    expect(conf).toContain(`TrustedUserCAKeys ${etc}/jitssh_user_ca.pub`)
    expect(conf).toContain(`RevokedKeys ${etc}/jitssh.krl`)
    // Loopback targets: certificates are pinned to the bastion's loopback egress, which sshd must not throttle.
    expect(conf).toMatch(/^MaxStartups /m)
    expect(conf).toMatch(/^# OpenSSH 9\.8 and later .*PerSourcePenaltyExemptList 127\.0\.0\.1\/32,::1\/128$/m)
    expect(conf).toContain(`HostCertificate ${etc}/ssh_host_ed25519_key-cert.pub`)
    expect(statSync(join(etc, 'jitssh-krl-refresh')).mode & 0o777).toBe(0o755)
    expect(readFileSync(join(etc, 'jitssh-host-cert-renew'), 'utf8')).toContain(`--key ${hostKey}.pub --validity 52w --out ${hostKey}-cert.pub`)

    // sshd's own TrustedUserCAKeys is an unrelated CA: only the generated lines can let alice in.
    const otherKeys = join(dir, 'other-keys')
    generateServerKeys(otherKeys)
    const sshd = await startSshd({ trustedUserCaKeys: (await loadServerKeys(otherKeys)).userCaLine, hostKey, includeFirst: join(etc, 'jitssh.conf') })
    sshds.push(sshd)

    // A client that trusts only the jitssh host CA, and checks strictly, accepts the host: the certificate works.
    const knownHosts = join(dir, 'known_hosts')
    writeFileSync(knownHosts, `@cert-authority * ${(await loadServerKeys(join(srv.dir, 'keys'))).hostCaLine}\n`)
    const strict = ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'HostKeyAlias=vm.example.com']
    const ok = await runTool(SSH_PATH, [...strict, '-i', fine.keyPath, '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, 'echo', 'in-through-target-setup'])
    expect(ok.stderr).not.toMatch(/host key|known hosts/i)
    expect(ok.stdout.trim()).toBe('in-through-target-setup')
    const refused = await login(sshd, revokedEarlier.keyPath)
    expect(refused.code).toBe(255)
    expect(sshd.logText()).toMatch(/revoked/i)

    // A revocation after the setup reaches the target when the refresh script runs (cron's job).
    await revoke(later.refreshToken)
    expect((await login(sshd, later.keyPath)).code).toBe(0)
    await promisify(execFile)(join(etc, 'jitssh-krl-refresh'))
    expect((await login(sshd, later.keyPath)).code).toBe(255)
    expect((await login(sshd, fine.keyPath)).code).toBe(0)
  }, 60_000)

  it('prints the files when there is no --out, and refuses a bad --sshd-version without writing anything', async () => {
    const printed = await runServerCli(['target-setup', '--config', srv.configPath, '--hostname', 'vm.example.com'])
    expect(printed.code).toBe(0)
    expect(printed.stdout).toContain('==> jitssh.conf <== the sshd_config lines')
    expect(printed.stdout).toContain('TrustedUserCAKeys /etc/ssh/jitssh_user_ca.pub')
    expect(printed.stdout).toContain(`curl -fsS --max-time 30 -o "$tmp" ${srv.url}/v1/ssh/krl`)

    const bad = await runServerCli(['target-setup', '--config', srv.configPath, '--hostname', 'vm.example.com', '--sshd-version', 'new', '--out', join(dir, 'never')])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--sshd-version: expected a version like 9\.8/)
    expect(() => statSync(join(dir, 'never'))).toThrow()
  })

  it('with direct_access and named logins, sshd takes exactly the host-bound principal: a certificate for another host is refused', async () => {
    const printed = await runServerCli(['target-setup', '--config', srv.configPath, '--hostname', 'vm.example.com', '--sshd-version', '9.9'])
    expect(printed.stdout).toMatch(/^PerSourcePenaltyExemptList 127\.0\.0\.1\/32,::1\/128$/m)
    // {email_local} is a person's own account, unknown in advance: sshd's default (principal = account) stays.
    expect(printed.stdout).not.toMatch(/AuthorizedPrincipals/)

    const login = userInfo().username
    const targets = { 'vm.example.com': '127.0.0.1:22', 'other.example.com': '127.0.0.1:22' }
    await srv.restart({ targets, policy: [{ name: 'ops', users: ['alice'], hosts: ['*.example.com'], principals: [login] }], config: { public_url: srv.url, certificates: { direct_access: true } } })
    const etc = join(dir, 'etc-direct')
    const result = await runServerCli(['target-setup', '--config', srv.configPath, '--hostname', 'vm.example.com', '--ssh-dir', etc, '--out', etc])
    expect(result.code).toBe(0)
    const conf = readFileSync(join(etc, 'jitssh.conf'), 'utf8')
    expect(conf).toContain(`AuthorizedPrincipalsFile ${etc}/auth_principals/%u`)
    expect(conf).not.toMatch(/MaxStartups|PerSourcePenalt/) // no bastion in between: nothing to exempt
    expect(readFileSync(join(etc, 'auth_principals', login), 'utf8')).toBe(`${login}@vm.example.com\n`)

    const sshd = await startSshd({ trustedUserCaKeys: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl unrelated', includeFirst: join(etc, 'jitssh.conf') })
    sshds.push(sshd)
    const forVm = await certificate('vm.example.com')
    const forOther = await certificate('other.example.com')
    const ok = await runSsh(['-i', forVm.keyPath, '-p', String(sshd.port), `${login}@127.0.0.1`, 'echo', 'direct'])
    expect(ok.stdout.trim()).toBe('direct')
    expect((await runSsh(['-i', forOther.keyPath, '-p', String(sshd.port), `${login}@127.0.0.1`, 'true'])).code).toBe(255)
  }, 60_000)
})
