// A real OpenSSH sshd trusting a test user CA: certificates made by src/ssh log in, and sshd refuses the
// ones it must refuse (expired, wrong principal, another CA, source-address, revoked by our KRL).
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signCertificate, type CertificateFields } from '../../src/ssh/certificate.js'
import { keyPairSigner } from '../../src/ssh/signer.js'
import { encodePrivateKey, formatPublicKey, generateKeyPair, type KeyType, type SshKeyPair } from '../../src/ssh/keys.js'
import { buildKrl } from '../../src/ssh/krl.js'
import { runSsh, startSshd, type RunningSshd, type ToolResult } from '../helpers/sshd.js'

const REVOKED_SERIAL = 0x7eadbeefn
const REVOKED_KEY_ID = 'revoked-session'

const escapeRe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

describe('a real sshd with TrustedUserCAKeys = our CA', () => {
  const ca = generateKeyPair('ssh-ed25519', 'jitssh-test-user-ca')
  const ecdsaCa = generateKeyPair('ecdsa-sha2-nistp256', 'jitssh-test-user-ca-ecdsa')
  const untrustedCa = generateKeyPair('ssh-ed25519', 'someone-elses-ca')
  let sshd: RunningSshd
  let dir: string
  let issued = 0

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jitssh-sshd-client-'))
    const krlPath = join(dir, 'revoked.krl')
    writeFileSync(krlPath, buildKrl({ version: 1n, generatedAt: new Date(), sections: [{ ca: ca.publicKey, serials: [REVOKED_SERIAL], keyIds: [REVOKED_KEY_ID] }] }))
    sshd = await startSshd({ trustedUserCaKeys: `${formatPublicKey(ca.publicKey)}\n${formatPublicKey(ecdsaCa.publicKey)}\n`, revokedKeysPath: krlPath })
  })

  afterAll(async () => {
    await sshd?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Issues a certificate for a fresh key (valid now, for the sshd user) and tries `ssh ... true` with it. */
  async function loginWith(overrides: Partial<CertificateFields> = {}, signer: SshKeyPair = ca, keyType: KeyType = 'ssh-ed25519'): Promise<{ result: ToolResult; keyId: string; serial: bigint; log: () => string }> {
    const name = `user${++issued}`
    const subject = generateKeyPair(keyType)
    const now = BigInt(Math.floor(Date.now() / 1000))
    const fields: CertificateFields = {
      type: 'user',
      publicKey: subject.publicKey,
      serial: randomBytes(8).readBigUInt64BE(0) >> 1n,
      keyId: `alice@example.com-${name}`,
      principals: [sshd.user],
      validAfter: now - 60n,
      validBefore: now + 300n,
      criticalOptions: {},
      extensions: ['permit-pty'],
      ...overrides,
    }
    const cert = await signCertificate(fields, keyPairSigner(signer))
    const keyPath = join(dir, name)
    writeFileSync(keyPath, encodePrivateKey(subject), { mode: 0o600 })
    writeFileSync(`${keyPath}-cert.pub`, `${cert.line}\n`)
    const logStart = sshd.logText().length
    const result = await runSsh(['-p', String(sshd.port), '-i', keyPath, '-o', `CertificateFile=${keyPath}-cert.pub`, '-l', sshd.user, sshd.host, 'true'])
    return { result, keyId: fields.keyId, serial: fields.serial, log: () => sshd.logText().slice(logStart) }
  }

  async function expectRefused(attempt: Awaited<ReturnType<typeof loginWith>>, reason: RegExp): Promise<void> {
    expect(attempt.result.code, attempt.result.stderr).toBe(255)
    expect(attempt.result.stderr).toMatch(/Permission denied \(publickey\)/)
    await sshd.waitForLog(new RegExp(`Failed publickey for ${escapeRe(sshd.user)} .* ID ${escapeRe(attempt.keyId)} \\(serial ${attempt.serial}\\)`))
    expect(attempt.log()).toMatch(reason)
    expect(attempt.log()).not.toMatch(/Accepted publickey/)
  }

  it.each([
    ['an Ed25519 CA', 'an Ed25519 key', 'ssh-ed25519', 'ssh-ed25519'],
    ['an ECDSA CA', 'an ECDSA key', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
  ] as const)('logs in with a certificate from %s for %s, and sshd logs its key id and serial', async (_ca, _key, caType, keyType) => {
    const attempt = await loginWith({}, caType === 'ssh-ed25519' ? ca : ecdsaCa, keyType)
    expect(attempt.result.code, attempt.result.stderr).toBe(0)
    const log = await sshd.waitForLog(new RegExp(`Accepted publickey for ${escapeRe(sshd.user)} .* ID ${escapeRe(attempt.keyId)} \\(serial ${attempt.serial}\\)`))
    expect(log).toContain(`Accepted certificate ID "${attempt.keyId}"`)
  })

  it('refuses an expired certificate, and one not yet valid', async () => {
    const now = BigInt(Math.floor(Date.now() / 1000))
    await expectRefused(await loginWith({ validAfter: now - 3600n, validBefore: now - 60n }), /Certificate invalid: expired/)
    await expectRefused(await loginWith({ validAfter: now + 600n, validBefore: now + 900n }), /Certificate invalid: not yet valid/)
  })

  it('refuses a certificate for another principal', async () => {
    await expectRefused(await loginWith({ principals: ['not-the-login-user'] }), /Certificate invalid: name is not a listed principal/)
  })

  it("refuses another CA's certificate", async () => {
    await expectRefused(await loginWith({}, untrustedCa), /Failed publickey .* CA ED25519/)
  })

  it('refuses a certificate whose source-address does not match, and accepts one that does', async () => {
    await expectRefused(await loginWith({ criticalOptions: { 'source-address': '10.1.2.3/32' } }), /not from a permitted source address \(127\.0\.0\.1\)/)
    const pinned = await loginWith({ criticalOptions: { 'source-address': '127.0.0.1/32' } })
    expect(pinned.result.code, pinned.result.stderr).toBe(0)
  })

  it('refuses certificates listed in the KRL given as RevokedKeys (by serial and by key id), not others', async () => {
    await expectRefused(await loginWith({ serial: REVOKED_SERIAL }), /revoked by file/)
    await expectRefused(await loginWith({ keyId: REVOKED_KEY_ID }), /revoked by file/)
    const notListed = await loginWith({ serial: REVOKED_SERIAL + 1n })
    expect(notListed.result.code, notListed.result.stderr).toBe(0)
  })
})
