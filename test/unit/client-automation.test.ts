// The client side of automation identities (issue 14), on plain data and real OpenSSH as the oracle: which
// login the options ask for, RFC 7523 client assertions (verified with jose), when `jitssh agent` renews,
// and the ssh_config it writes as `ssh -G` reads it.
import { spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt, jwtVerify } from 'jose'
import { afterAll, describe, expect, it } from 'vitest'
import { clientAssertion } from '../../src/client/auth/automation.js'
import { renewalTime, retryTime } from '../../src/client/agent/schedule.js'
import { automationLoginOf } from '../../src/cli/login.js'
import { renderAgentSshConfig } from '../../src/ssh/config.js'

const SERVER = 'https://access.example.com'
const ctx = { cwd: '/work/ci' }

describe('jitssh login options for a service account', () => {
  it('chooses the way to authenticate, with paths made absolute and the server URL as the default audience', () => {
    expect(automationLoginOf(ctx, { browser: true }, SERVER)).toBeUndefined()
    expect(automationLoginOf(ctx, { githubActions: true }, SERVER)).toEqual({ method: 'github-actions', audience: SERVER })
    expect(automationLoginOf(ctx, { githubActions: true, audience: 'sts.example' }, SERVER)).toEqual({ method: 'github-actions', audience: 'sts.example' })
    expect(automationLoginOf(ctx, { idTokenFile: 'token' }, SERVER)).toEqual({ method: 'id-token-file', path: '/work/ci/token' })
    expect(automationLoginOf(ctx, { clientId: 'ci', clientKey: 'k.pem' }, SERVER)).toEqual({ method: 'client-key', client_id: 'ci', key_path: '/work/ci/k.pem' })
    expect(automationLoginOf(ctx, { clientId: 'ci', clientSecretFile: '/s' }, SERVER)).toEqual({ method: 'client-secret', client_id: 'ci', secret_path: '/s' })
  })

  it.each<[object, RegExp]>([
    [{ githubActions: true, idTokenFile: 't' }, /give one of --github-actions, --id-token-file and --client-id/],
    [{ audience: 'x' }, /--audience goes with --github-actions/],
    [{ clientKey: 'k.pem' }, /--client-key and --client-secret-file go with --client-id/],
    [{ clientId: 'ci' }, /needs exactly one of --client-key and --client-secret-file/],
    [{ clientId: 'ci', clientKey: 'k', clientSecretFile: 's' }, /needs exactly one of/],
    [{ clientId: 'bad id' }, /is not a client id/],
    [{ githubActions: true, device: true }, /are for a person's login/],
  ])('refuses %j', (options, message) => {
    expect(() => automationLoginOf(ctx, options, SERVER)).toThrow(message)
  })
})

describe('client assertions (RFC 7523)', () => {
  it.each([
    ['Ed25519', generateKeyPairSync('ed25519'), 'EdDSA'],
    ['ECDSA P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'],
    ['RSA', generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'],
  ])('%s: iss = sub = the client, aud = the token endpoint, one minute, a new jti, a signature jose accepts', async (_name, pair, alg) => {
    const now = Math.floor(Date.now() / 1000)
    const first = clientAssertion(pair.privateKey, 'ci-key', `${SERVER}/token`, now)
    const { payload, protectedHeader } = await jwtVerify(first, pair.publicKey, { issuer: 'ci-key', subject: 'ci-key', audience: `${SERVER}/token` })
    expect(protectedHeader.alg).toBe(alg)
    expect(payload.exp! - payload.iat!).toBe(60)
    expect(decodeJwt(clientAssertion(pair.privateKey, 'ci-key', `${SERVER}/token`, now)).jti).not.toBe(payload.jti)
  })
})

describe('when jitssh agent renews', () => {
  it('a third of the way into the life a certificate had left when it came; retries within a third of what is left; gives up once expired', () => {
    expect(renewalTime(130_000, 100_000)).toBe(110_000)
    expect(retryTime(130_000, 110_000)).toBe(115_000)
    expect(retryTime(130_000, 127_000)).toBe(128_000)
    expect(retryTime(130_000, 129_500)).toBe(130_000)
    expect(retryTime(130_000, 130_000)).toBeUndefined()
  })
})

describe('the ssh_config jitssh agent writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jitssh agent '))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('routes each host through the bastion with the agent\'s key and that host\'s certificate, as ssh -G reads it', () => {
    const file = join(dir, 'ssh_config')
    writeFileSync(file, renderAgentSshConfig({
      hosts: ['web01.example.com', 'web02.example.com'],
      program: ['/usr/bin/node', '/opt/jitssh/bin/jitssh.js'],
      server: SERVER,
      keyFile: join(dir, 'id_ed25519'),
      certificateFor: (host) => join(dir, `${host}-cert.pub`),
      knownHostsFile: join(dir, 'known_hosts'),
      platform: 'posix',
    }))
    const result = spawnSync('ssh', ['-G', '-F', file, 'web02.example.com'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } })
    expect(result.status, result.stderr).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines).toContain(`certificatefile ${join(dir, 'web02.example.com-cert.pub')}`)
    expect(lines).toContain(`identityfile ${join(dir, 'id_ed25519')}`)
    expect(lines).toContain('identitiesonly yes')
    expect(lines).toContain(`userknownhostsfile ${join(dir, 'known_hosts')}`)
    expect(lines.find((line) => line.startsWith('proxycommand '))).toBe(`proxycommand '/usr/bin/node' '/opt/jitssh/bin/jitssh.js' ssh --server ${SERVER} --hostname '%h' --port %p`)
  })
})
