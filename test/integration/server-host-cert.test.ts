// `jitssh-server host-cert`: a host's public key signed by the host CA of keys_dir, read back by
// `ssh-keygen -L` (host certificate, our principals, key id, validity, no options or extensions), written
// atomically 0644 next to the key or to --out, audited as host_cert.sign; hostile names and files that are
// not public keys refused with one line. The proof: a real sshd presents the certificate and the real ssh
// client, trusting only `@cert-authority * <host CA>`, connects to it by name with strict checking and no
// prompt, while another name fails host verification.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadServerKeys, type ServerKeys } from '../../src/server/ca/server-keys.js'
import { loadConfig } from '../../src/server/config/load-config.js'
import { openStore } from '../../src/server/store/open-store.js'
import type { AuditRecord } from '../../src/server/store/store.js'
import { parseCertificate, signCertificate } from '../../src/ssh/certificate.js'
import { encodePrivateKey, fingerprint, formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { runServerCli, writeTestConfig } from '../helpers/server.js'
import { SSH_PATH, runSshKeygen, runTool, startSshd, type RunningSshd, type ToolResult } from '../helpers/sshd.js'

let dir: string
let configPath: string
let keys: ServerKeys

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-host-cert-'))
  configPath = await writeTestConfig(dir)
  keys = await loadServerKeys(join(dir, 'keys'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const cli = runServerCli

const hostCert = (args: string[]) => cli(['host-cert', '--config', configPath, ...args])

/** A fresh host key pair from ssh-keygen in its own directory: the path of the .pub. */
async function hostKey(type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): Promise<string> {
  const keyDir = mkdtempSync(join(dir, 'host-'))
  const path = join(keyDir, `ssh_host_${type}_key`)
  const result = await runSshKeygen(['-q', '-t', type, '-N', '', '-C', 'root@host', '-f', path])
  expect(result.code).toBe(0)
  return `${path}.pub`
}

async function auditEvents(type: string): Promise<AuditRecord[]> {
  const store = await openStore(loadConfig(configPath).storage, { listenForRevocations: false })
  try {
    return (await store.audit.read(0, 100_000)).filter((event) => event.type === type)
  } finally {
    await store.close()
  }
}

/** `ssh-keygen -L` of a certificate file, in UTC. */
async function describeCertificate(path: string): Promise<string> {
  const result = await runSshKeygen(['-L', '-f', path], { env: { TZ: 'UTC' } })
  expect(result.code, result.stderr).toBe(0)
  return result.stdout
}

const sshTime = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 19)

describe('jitssh-server host-cert', () => {
  it('signs an Ed25519 host key: ssh-keygen -L shows a host certificate with our names, key id and 52 weeks, written 0644 next to the key and audited', async () => {
    const key = await hostKey()
    const certPath = key.replace(/\.pub$/, '-cert.pub')
    const started = Math.floor(Date.now() / 1000)
    const result = await hostCert(['--hostname', 'VM.Example.com', '--hostname', 'vm', '--hostname', '10.0.0.5', '--hostname', 'vm.example.com', '--key', key])
    const finished = Math.floor(Date.now() / 1000)
    expect(result).toMatchObject({ code: 0, stdout: '' })
    expect(result.stderr.split('\n')).toContain(`HostCertificate ${certPath}`)
    expect(result.stderr).toMatch(new RegExp(`^wrote ${certPath}: host certificate for vm\\.example\\.com, vm, 10\\.0\\.0\\.5 \\(serial \\d+, valid until `))
    expect(statSync(certPath).mode & 0o777).toBe(0o644)
    expect(readdirSync(join(certPath, '..')).sort()).toEqual(['ssh_host_ed25519_key', 'ssh_host_ed25519_key-cert.pub', 'ssh_host_ed25519_key.pub'])

    const listing = await describeCertificate(certPath)
    expect(listing).toMatch(/Type: ssh-ed25519-cert-v01@openssh\.com host certificate/)
    expect(listing).toContain(`Signing CA: ED25519 ${fingerprint(keys.hostCa.publicKey)}`)
    expect(listing).toContain('Key ID: "jitssh-host:vm.example.com"')
    expect(/Principals: \n((?:\s+\S+\n)+)/.exec(listing)?.[1]?.trim().split(/\s+/)).toEqual(['vm.example.com', 'vm', '10.0.0.5'])
    expect(listing).toMatch(/Critical Options: \(none\)/)
    expect(listing).toMatch(/Extensions: \(none\)/)
    const valid = /Valid: from (\S+) to (\S+)/.exec(listing)!
    const certificate = parseCertificate(readFileSync(certPath, 'utf8'))
    const after = Number(certificate.validAfter)
    const before = Number(certificate.validBefore)
    expect(after).toBeGreaterThanOrEqual(started - 300)
    expect(after).toBeLessThanOrEqual(finished - 300)
    expect(before - after).toBe(52 * 7 * 86_400 + 300)
    expect([valid[1], valid[2]]).toEqual([sshTime(after), sshTime(before)])
    expect(certificate.signatureKey.blob.equals(keys.hostCa.publicKey.blob)).toBe(true)
    expect(certificate.publicKey.blob.toString('base64')).toBe(readFileSync(key, 'utf8').split(' ')[1])

    const serial = /Serial: (\d+)/.exec(listing)![1]!
    expect(await auditEvents('host_cert.sign')).toContainEqual(expect.objectContaining({
      type: 'host_cert.sign', outcome: 'ok', host: 'vm.example.com', user: null,
      detail: expect.objectContaining({ serial, key_id: 'jitssh-host:vm.example.com', principals: ['vm.example.com', 'vm', '10.0.0.5'], valid_after: after, valid_before: before, out: certPath }),
    }))
    expect(await cli(['audit', 'verify', '--config', configPath])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit chain ok/) })
  })

  it('takes ECDSA and RSA host keys, --validity, --out FILE and --out - (stdout), and random serials', async () => {
    const ecdsa = await hostKey('ecdsa')
    const out = join(dir, 'elsewhere-cert.pub')
    const written = await hostCert(['--hostname', 'db.example.com', '--key', ecdsa, '--validity', '30d', '--out', out])
    expect(written.code).toBe(0)
    expect(written.stderr.split('\n')).toContain(`HostCertificate ${out}`)
    const ecdsaCert = parseCertificate(readFileSync(out, 'utf8'))
    expect(ecdsaCert).toMatchObject({ type: 'host', principals: ['db.example.com'], keyId: 'jitssh-host:db.example.com' })
    expect(Number(ecdsaCert.validBefore - ecdsaCert.validAfter)).toBe(30 * 86_400 + 300)
    expect(await describeCertificate(out)).toMatch(/Type: ecdsa-sha2-nistp256-cert-v01@openssh\.com host certificate/)

    const rsa = await hostKey('rsa')
    const printed = await hostCert(['--hostname', 'db.example.com', '--key', rsa, '--out', '-', '--validity', '260w'])
    expect(printed.code).toBe(0)
    const rsaCert = parseCertificate(printed.stdout.trim())
    expect(printed.stdout.trim().split('\n')).toHaveLength(1)
    expect(rsaCert.publicKey.type).toBe('ssh-rsa')
    expect(Number(rsaCert.validBefore - rsaCert.validAfter)).toBe(260 * 7 * 86_400 + 300)
    expect(printed.stderr.split('\n')).toContain(`HostCertificate ${rsa.replace(/\.pub$/, '-cert.pub')}`)
    expect(() => statSync(rsa.replace(/\.pub$/, '-cert.pub'))).toThrow()
    expect(rsaCert.serial).not.toBe(ecdsaCert.serial)
  })

  it('refuses hostile or pattern names with exit 2 and one line, before writing or auditing anything', async () => {
    const key = await hostKey()
    const auditBefore = (await auditEvents('host_cert.sign')).length
    for (const [name, why] of [
      ['*.example.com', "'*' patterns are not allowed here"],
      ['vm.example.com\nHostCertificate /tmp/evil', 'contains a newline'],
      ['-oProxyCommand=sh', "contains '='"],
      ['../../etc/passwd', "contains '/'"],
      ['vm.example.com:22', 'a ":port" is not allowed here'],
      ['vm example', 'contains a space'],
      ['', 'it is empty'],
    ] as const) {
      const result = await hostCert([`--hostname=vm.example.com`, `--hostname=${name}`, '--key', key])
      expect(result.code, name).toBe(2)
      expect(result.stderr, name).toMatch(/^jitssh-server: invalid host name .*\n$/)
      expect(result.stderr, name).toContain(why)
    }
    const tooLong = await hostCert(['--hostname', 'vm.example.com', '--key', key, '--validity', '261w'])
    expect(tooLong).toMatchObject({ code: 2, stderr: 'jitssh-server: --validity 261w: more than 5 years (at most 1826d or 260w)\n' })
    expect((await hostCert(['--hostname', 'vm.example.com', '--key', key, '--validity', '6y'])).code).toBe(2)
    expect(() => statSync(key.replace(/\.pub$/, '-cert.pub'))).toThrow()
    expect(await auditEvents('host_cert.sign')).toHaveLength(auditBefore)
  })

  it('refuses files that are not a public key with exit 1 and one line naming the file', async () => {
    const key = await hostKey()
    const privateKey = key.replace(/\.pub$/, '')
    const certificateFile = join(dir, 'a-cert.pub')
    expect((await hostCert(['--hostname', 'a.example.com', '--key', key, '--out', certificateFile])).code).toBe(0)
    const empty = join(dir, 'empty.pub')
    writeFileSync(empty, '')
    const garbage = join(dir, 'garbage.pub')
    writeFileSync(garbage, 'ssh-ed25519 not-base64!! comment\n')
    const big = join(dir, 'big.pub')
    writeFileSync(big, 'x'.repeat(20_000))
    const unreadable = join(dir, 'missing.pub')
    for (const [path, why] of [
      [privateKey, `this is a private key: pass its public key (${privateKey}.pub) instead`],
      [configPath, 'invalid public key'],
      [certificateFile, 'is not a plain public key'],
      [empty, 'invalid public key: empty input'],
      [garbage, 'invalid public key'],
      [big, 'too large for a public key file'],
      [dir, 'not a file'],
      [unreadable, 'cannot read the host public key (ENOENT)'],
    ] as const) {
      const result = await hostCert(['--hostname', 'vm.example.com', '--key', path])
      expect(result.code, path).toBe(1)
      expect(result.stderr, path).toMatch(new RegExp(`^jitssh-server: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^\n]+\n$`))
      expect(result.stderr, path).toContain(why)
    }
  })

  it('needs --config, --hostname and --key (usage, exit 2)', async () => {
    const key = await hostKey()
    expect((await cli(['host-cert', '--hostname', 'vm.example.com', '--key', key])).code).toBe(2)
    expect((await hostCert(['--key', key])).code).toBe(2)
    expect((await hostCert(['--hostname', 'vm.example.com'])).code).toBe(2)
  })
})

describe('a host certificate from host-cert, presented by a real sshd', () => {
  let sshd: RunningSshd
  let work: string
  let knownHosts: string
  let userKey: string
  const hostKeyLines: string[] = []

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'jitssh-host-cert-ssh-'))
    sshd = await startSshd({
      trustedUserCaKeys: keys.userCaLine,
      // Exactly as an admin would: the host's .pub in, `host-cert` run, the -cert.pub it wrote presented.
      hostCertificate: async (hostKeyLine) => {
        hostKeyLines.push(hostKeyLine)
        const pub = join(work, 'ssh_host_ed25519_key.pub')
        writeFileSync(pub, `${hostKeyLine}\n`)
        const result = await hostCert(['--hostname', 'vm.example.com', '--hostname', 'vm', '--key', pub])
        if (result.code !== 0) throw new Error(`host-cert failed: ${result.stderr}`)
        return readFileSync(join(work, 'ssh_host_ed25519_key-cert.pub'), 'utf8')
      },
    })
    // The user's side: a user certificate from the user CA, and known_hosts that trusts only the host CA.
    const user = generateKeyPair('ssh-ed25519')
    const now = BigInt(Math.floor(Date.now() / 1000))
    const certificate = await signCertificate(
      { type: 'user', publicKey: user.publicKey, serial: 7n, keyId: 'host-cert-test', principals: [sshd.user], validAfter: now - 60n, validBefore: now + 600n, criticalOptions: {}, extensions: ['permit-pty'] },
      keys.userCa,
    )
    userKey = join(work, 'id_ed25519')
    writeFileSync(userKey, encodePrivateKey(user), { mode: 0o600 })
    writeFileSync(`${userKey}-cert.pub`, `${certificate.line}\n`)
    knownHosts = join(work, 'known_hosts')
    writeFileSync(join(work, 'proxy.cjs'), "const s = require('node:net').connect(Number(process.argv[3]), process.argv[2]); process.stdin.pipe(s); s.pipe(process.stdout); s.on('close', () => process.exit(0)); s.on('error', () => process.exit(1))\n")
  })
  afterAll(async () => {
    await sshd?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  /** Real ssh to `name` (the connection goes to our sshd through a ProxyCommand, as with jitssh), strict, no prompts. */
  function sshTo(name: string): Promise<ToolResult> {
    return runTool(SSH_PATH, [
      '-F', '/dev/null', '-v',
      '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'IdentitiesOnly=yes', '-o', 'UpdateHostKeys=no', '-i', userKey, '-o', `CertificateFile=${userKey}-cert.pub`,
      '-o', `ProxyCommand='${process.execPath}' '${join(work, 'proxy.cjs')}' 127.0.0.1 ${sshd.port}`,
      '-l', sshd.user, name, 'echo host-verified',
    ], { timeoutMs: 30_000 })
  }

  it('connects as the certified name with strict host key checking and nothing but @cert-authority in known_hosts', async () => {
    const trust = `@cert-authority * ${keys.hostCaLine}\n`
    writeFileSync(knownHosts, trust)
    expect(hostKeyLines).toHaveLength(1)
    for (const name of ['vm.example.com', 'vm']) {
      const result = await sshTo(name)
      expect(result.stderr, name).toMatch(/Server host certificate: ssh-ed25519-cert-v01@openssh\.com .* ID "?jitssh-host:vm\.example\.com"?/)
      expect(result.stderr, name).toMatch(new RegExp(`Host '${name.replace(/\./g, '\\.')}' is known and matches the ED25519-CERT host certificate`))
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout.trim()).toBe('host-verified')
    }
    expect(readFileSync(knownHosts, 'utf8')).toBe(trust) // nothing was learned or added
  })

  it('fails host verification for a name the certificate does not list, and without the host CA', async () => {
    writeFileSync(knownHosts, `@cert-authority * ${keys.hostCaLine}\n`)
    const wrong = await sshTo('other.example.com')
    expect(wrong.code).toBe(255)
    expect(wrong.stderr).toMatch(/Certificate invalid: name is not a listed principal/)
    expect(wrong.stderr).toMatch(/Host key verification failed/)
    expect(wrong.stdout).toBe('')

    writeFileSync(knownHosts, `@cert-authority * ${formatPublicKey(generateKeyPair().publicKey)}\n`)
    const otherCa = await sshTo('vm.example.com')
    expect(otherCa.code).toBe(255)
    expect(otherCa.stderr).toMatch(/Host key verification failed/)
  })
})
