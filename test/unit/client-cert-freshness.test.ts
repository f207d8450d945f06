// certificateIsFresh: the one check both ssh-gen paths make (the fast path in src/cli/fast-path.ts and the
// slow path in src/client/certificate-issue.ts), on certificates from ssh-keygen.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readValidBefore } from '../../src/ssh/cert-validity.js'
import { certificateIsFresh } from '../../src/client/files/cert-freshness.js'
import { jitsshPaths, type JitsshPaths } from '../../src/client/files/paths.js'
import { hasFreshCertificate } from '../../src/cli/fast-path.js'
import { runSshKeygen } from '../helpers/sshd.js'

const HOST = 'vm.example.com'
let dir: string
let paths: JitsshPaths

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jitssh-fresh-'))
  paths = jitsshPaths({ JITSSH_HOME: dir }, '/nonexistent')
  await mkdir(paths.certs)
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** certs/HOST and certs/HOST-cert.pub (valid from a minute ago for an hour); resolves with its valid_before in ms. */
async function certificate(): Promise<number> {
  const keygen = async (args: string[]) => expect((await runSshKeygen(['-q', ...args])).code).toBe(0)
  await keygen(['-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')])
  await keygen(['-t', 'ed25519', '-N', '', '-f', join(paths.certs, HOST)])
  await keygen(['-s', join(dir, 'ca'), '-I', 'test', '-n', 'alice', '-V', '-1m:+1h', join(paths.certs, `${HOST}.pub`)])
  return readValidBefore(await readFile(join(paths.certs, `${HOST}-cert.pub`), 'utf8'))! * 1000
}

const fastPath = (nowMs: number, margin = '60') => hasFreshCertificate(['--hostname', HOST], { JITSSH_HOME: dir, JITSSH_CERT_MARGIN: margin }, '/nonexistent', nowMs)

describe('certificateIsFresh', () => {
  it('is true only while the certificate is valid for longer than the margin, and the fast path agrees', async () => {
    const validBefore = await certificate()
    expect(certificateIsFresh(paths, HOST, validBefore - 61_000, 60)).toBe(true)
    expect(fastPath(validBefore - 61_000)).toBe(true)
    expect(certificateIsFresh(paths, HOST, validBefore - 60_000, 60)).toBe(false) // exactly the margin left
    expect(fastPath(validBefore - 60_000)).toBe(false)
    expect(certificateIsFresh(paths, HOST, validBefore - 61_000, 61)).toBe(false)
    expect(fastPath(validBefore - 61_000, '61')).toBe(false)
    // A block written with --ttl keeps the fast path: the lifetime only shapes the next certificate.
    expect(hasFreshCertificate(['--hostname', HOST, '--ttl', '15m'], { JITSSH_HOME: dir }, '/nonexistent', validBefore - 61_000)).toBe(true)
    expect(hasFreshCertificate(['--hostname', HOST, '--other', 'x'], { JITSSH_HOME: dir }, '/nonexistent', validBefore - 61_000)).toBe(false)
  })

  it('with --login (the login ssh will use, %r): fresh only when the certificate names it, so the full CLI can say which do', async () => {
    const validBefore = await certificate() // principals: alice
    const now = validBefore - 120_000
    expect(certificateIsFresh(paths, HOST, now, 60, 'alice')).toBe(true)
    expect(certificateIsFresh(paths, HOST, now, 60, 'root')).toBe(false)
    expect(hasFreshCertificate(['--hostname', HOST, '--login', 'alice'], { JITSSH_HOME: dir }, '/nonexistent', now)).toBe(true)
    expect(hasFreshCertificate(['--hostname', HOST, '--login=root'], { JITSSH_HOME: dir }, '/nonexistent', now)).toBe(false)
    // ssh-config's and doctor's `ssh -G`: the exec succeeds at once, whatever is on disk.
    expect(hasFreshCertificate(['--hostname', 'other.example.com'], { JITSSH_HOME: dir, JITSSH_ROUTE_CHECK: '1' }, '/nonexistent', now)).toBe(true)
  })

  it('is false without the certificate, without its key, or for a file that is not a certificate', async () => {
    expect(certificateIsFresh(paths, HOST, Date.now(), 60)).toBe(false)
    const validBefore = await certificate()
    const now = validBefore - 600_000
    expect(certificateIsFresh(paths, HOST, now, 60)).toBe(true)
    await rm(join(paths.certs, HOST))
    expect(certificateIsFresh(paths, HOST, now, 60)).toBe(false)
    expect(fastPath(now)).toBe(false)
    await writeFile(join(paths.certs, HOST), 'private key')
    await writeFile(join(paths.certs, `${HOST}-cert.pub`), 'ssh-ed25519-cert-v01@openssh.com AAAA\n')
    expect(certificateIsFresh(paths, HOST, now, 60)).toBe(false)
  })

  it('throws when the certificate cannot be read (the slow path reports it); the fast path leaves it to the full CLI', async () => {
    await mkdir(join(paths.certs, `${HOST}-cert.pub`))
    expect(() => certificateIsFresh(paths, HOST, Date.now(), 60)).toThrow(expect.objectContaining({ code: 'EISDIR' }))
    expect(fastPath(Date.now())).toBe(false)
  })
})
