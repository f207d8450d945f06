// The block `jitssh ssh-config` writes, read by the real OpenSSH client (`ssh -G`), which also runs the
// Match exec (our real ssh-gen, bin/jitssh.js through the launcher): with a certificate on disk ssh uses our ProxyCommand,
// IdentityFile and CertificateFile; when ssh-gen fails, ssh still goes through our ProxyCommand.
import { execFileSync, spawnSync } from 'node:child_process'
import { appendFile, mkdir, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { userInfo } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt, makeTempHome, removeTempHome, runCli } from '../helpers/cli.js'

let home: string
let configFile: string
let server: string // nothing listens there: a slow-path ssh-gen fails

beforeAll(async () => {
  await ensureBuilt()
  home = await makeTempHome()
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  server = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`
  await new Promise((r) => probe.close(r))
  configFile = join(home, 'ssh_config')
  for (const host of ['vm.example.com', '*.prod.example.com']) {
    const r = await runCli(['ssh-config', '--hostname', host, '--short-lived-cert', '--server', server, '--write', '--config', configFile], { home })
    expect(r.code, r.stderr).toBe(0)
  }
  // A user's own alias, after our block: `Match final` still reaches it.
  await appendFile(configFile, '\nHost myvm\n    HostName vm.example.com\n    User alice\n')
}, 120_000)
afterAll(async () => {
  await removeTempHome(home)
})

function sshG(host: string): { options: Map<string, string[]>; stderr: string } {
  const result = spawnSync('ssh', ['-G', '-F', configFile, host], {
    env: { PATH: process.env.PATH, HOME: home, JITSSH_CREDENTIAL_STORE: 'file' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  })
  expect(result.status, result.stderr.toString()).toBe(0)
  const options = new Map<string, string[]>()
  for (const line of result.stdout.toString().split('\n')) {
    const space = line.indexOf(' ')
    if (space < 0) continue
    const key = line.slice(0, space)
    options.set(key, [...(options.get(key) ?? []), line.slice(space + 1)])
  }
  return { options, stderr: result.stderr.toString() }
}

/** ssh -G prints file options before %-expansion too: expand %h with the resolved host name, as ssh will. */
function resolvedFile(options: Map<string, string[]>, key: string): string | undefined {
  const value = options.get(key)?.find((v) => v.includes('/.jitssh/'))
  return value?.replaceAll('%h', options.get('hostname')![0]!)
}

function certify(host: string): void {
  const dir = join(home, '.jitssh', 'certs')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, `ca-${host}`)])
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, host)])
  // For alice (the alias's User) and the local user (a plain `ssh host`): the block passes ssh's login to ssh-gen.
  execFileSync('ssh-keygen', ['-q', '-s', join(home, `ca-${host}`), '-I', 'test', '-n', `alice,${userInfo().username}`, '-V', '-1m:+1h', join(dir, `${host}.pub`)])
}

// ssh -G prints the ProxyCommand before %-expansion (ssh expands %h/%p when it runs it). It runs the
// launcher ssh-config wrote (JITSSH_HOME/bin/jitssh), which runs bin/jitssh.js.
const ourProxyCommand = () => `'${join(home, '.jitssh', 'bin', 'jitssh')}' ssh --server ${server} --hostname '%h' --port %p`

describe('the generated config under the real ssh -G', () => {
  beforeAll(async () => {
    await mkdir(join(home, '.jitssh', 'certs'), { recursive: true })
    certify('vm.example.com')
    certify('db.prod.example.com')
  })

  it('a host with a certificate: our ProxyCommand, IdentityFile, CertificateFile and known_hosts', () => {
    const { options } = sshG('vm.example.com')
    expect(options.get('proxycommand')).toEqual([ourProxyCommand()])
    expect(resolvedFile(options, 'identityfile')).toBe(join(home, '.jitssh/certs/vm.example.com'))
    expect(resolvedFile(options, 'certificatefile')).toBe(join(home, '.jitssh/certs/vm.example.com-cert.pub'))
    expect(options.get('identityfile')).toHaveLength(1) // only ours: IdentitiesOnly and no default keys
    expect(options.get('identitiesonly')).toEqual(['yes'])
    expect(options.get('userknownhostsfile')?.[0]).toContain(join(home, '.jitssh/known_hosts'))
  })

  it('a user alias with HostName reaches the same blocks, with %h the real name', () => {
    const { options } = sshG('myvm')
    expect(options.get('hostname')).toEqual(['vm.example.com'])
    expect(options.get('proxycommand')).toEqual([ourProxyCommand()])
    expect(resolvedFile(options, 'certificatefile')).toBe(join(home, '.jitssh/certs/vm.example.com-cert.pub'))
  })

  it('a pattern block covers its hosts', () => {
    const { options } = sshG('db.prod.example.com')
    expect(options.get('proxycommand')).toEqual([ourProxyCommand()])
    expect(resolvedFile(options, 'certificatefile')).toBe(join(home, '.jitssh/certs/db.prod.example.com-cert.pub'))
  })

  it('when ssh-gen fails (no certificate, server down), ssh still goes through our ProxyCommand', async () => {
    await rm(join(home, '.jitssh', 'certs', 'vm.example.com-cert.pub'))
    const { options, stderr } = sshG('vm.example.com')
    expect(options.get('proxycommand')).toEqual([ourProxyCommand()])
    expect(options.get('certificatefile')).toBeUndefined()
    expect(resolvedFile(options, 'identityfile')).toBeUndefined()
    expect(stderr).toMatch(/^jitssh: /m) // ssh-gen's one line reached the terminal
  })

  it('a host outside every block is left alone', () => {
    const { options } = sshG('other.example.org')
    expect(options.get('proxycommand')).toBeUndefined()
  })
})
