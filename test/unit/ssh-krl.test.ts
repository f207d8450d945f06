// KRLs per PROTOCOL.krl, with `ssh-keygen -Q` (and `ssh-keygen -k` for the exact bytes) as the oracle.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signCertificate, type SshCertificate } from '../../src/ssh/certificate.js'
import { keyPairSigner } from '../../src/ssh/signer.js'
import { formatPublicKey, generateKeyPair, type SshKeyPair } from '../../src/ssh/keys.js'
import { buildKrl, type KrlInput } from '../../src/ssh/krl.js'
import { runSshKeygen } from '../helpers/sshd.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-krl-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const ca = generateKeyPair('ssh-ed25519', 'user-ca')
const otherCa = generateKeyPair('ecdsa-sha2-nistp256', 'other-ca')
const subject = generateKeyPair('ssh-ed25519')

function certificate(signer: SshKeyPair, serial: bigint, keyId = `session-${serial}`): Promise<SshCertificate> {
  return signCertificate(
    { type: 'user', publicKey: subject.publicKey, serial, keyId, principals: ['alice'], validAfter: 0n, validBefore: 2n ** 40n, criticalOptions: {}, extensions: ['permit-pty'] },
    keyPairSigner(signer),
  )
}

/** Runs `ssh-keygen -Q -f krl` on each certificate; returns "REVOKED" or "ok" per certificate, in order. */
async function queryKrl(krl: Buffer, pending: Array<Promise<SshCertificate>>): Promise<string[]> {
  const certs = await Promise.all(pending)
  const krlPath = join(dir, `krl-${Math.random().toString(36).slice(2)}`)
  writeFileSync(krlPath, krl)
  const verdicts: string[] = []
  for (const [i, cert] of certs.entries()) {
    const path = join(dir, `query-${i}-cert.pub`)
    writeFileSync(path, `${cert.line}\n`)
    const result = await runSshKeygen(['-Q', '-f', krlPath, path])
    const verdict = /: (REVOKED|ok)$/m.exec(result.stdout)?.[1]
    expect(verdict, `${result.stdout}${result.stderr}`).toBeDefined()
    expect(result.code).toBe(verdict === 'REVOKED' ? 1 : 0)
    verdicts.push(verdict as string)
  }
  return verdicts
}

const input = (sections: KrlInput['sections'], comment?: string): KrlInput => ({ version: 7n, generatedAt: new Date('2025-01-02T03:04:05Z'), comment, sections })

describe('buildKrl', () => {
  it('revokes by serial for one CA: ssh-keygen -Q says REVOKED for listed serials and ok for the rest', async () => {
    const krl = buildKrl(input([{ ca: ca.publicKey, serials: [5n, 3n, 3n, 2n ** 64n - 1n], keyIds: [] }]))
    const verdicts = await queryKrl(krl, [certificate(ca, 3n), certificate(ca, 5n), certificate(ca, 4n), certificate(ca, 2n ** 64n - 1n), certificate(otherCa, 3n)])
    expect(verdicts).toEqual(['REVOKED', 'REVOKED', 'ok', 'REVOKED', 'ok'])
  })

  it('revokes by key id for one CA', async () => {
    const krl = buildKrl(input([{ ca: ca.publicKey, serials: [], keyIds: ['alice session=s-2', 'bob'] }]))
    const verdicts = await queryKrl(krl, [certificate(ca, 10n, 'alice session=s-2'), certificate(ca, 11n, 'alice session=s-3'), certificate(otherCa, 12n, 'bob')])
    expect(verdicts).toEqual(['REVOKED', 'ok', 'ok'])
  })

  it('revokes for any CA with an empty CA key, and for several CAs in one list', async () => {
    const anyCa = buildKrl(input([{ ca: null, serials: [3n], keyIds: ['everywhere'] }]))
    expect(await queryKrl(anyCa, [certificate(ca, 3n), certificate(otherCa, 3n), certificate(otherCa, 9n, 'everywhere'), certificate(ca, 4n)])).toEqual(['REVOKED', 'REVOKED', 'REVOKED', 'ok'])
    const both = buildKrl(input([{ ca: ca.publicKey, serials: [1n], keyIds: [] }, { ca: otherCa.publicKey, serials: [2n], keyIds: [] }]))
    expect(await queryKrl(both, [certificate(ca, 1n), certificate(ca, 2n), certificate(otherCa, 2n), certificate(otherCa, 1n)])).toEqual(['REVOKED', 'ok', 'REVOKED', 'ok'])
  })

  it('writes exactly the bytes ssh-keygen -k writes for the same revocations', async () => {
    const caPath = join(dir, 'ca.pub')
    writeFileSync(caPath, `${formatPublicKey(ca.publicKey)}\n`)
    writeFileSync(join(dir, 'spec'), 'serial: 1000000\nserial: 3\nserial: 9223372036854775808\nid: zeta\nid: alpha\n')
    const made = await runSshKeygen(['-k', '-f', join(dir, 'theirs.krl'), '-s', caPath, '-z', '9', join(dir, 'spec')])
    expect(made.code, made.stderr).toBe(0)
    const theirs = readFileSync(join(dir, 'theirs.krl'))
    const generatedAt = new Date(Number(theirs.readBigUInt64BE(20)) * 1000) // magic(8) format(4) krl_version(8)
    const ours = buildKrl({ version: 9n, generatedAt, sections: [{ ca: ca.publicKey, serials: [9223372036854775808n, 3n, 1000000n, 3n], keyIds: ['zeta', 'alpha', 'zeta'] }] })
    expect(ours.toString('hex')).toBe(theirs.toString('hex'))
  })

  it('has the header ssh-keygen -Q -l reads: version, date, comment; serials sorted and deduplicated', async () => {
    const krl = buildKrl(input([{ ca: ca.publicKey, serials: [9n, 2n, 9n], keyIds: ['b', 'a'] }], 'jitssh user CA revocations'))
    expect(krl.subarray(0, 8).toString('latin1')).toBe('SSHKRL\n\0')
    expect(krl.readUInt32BE(8)).toBe(1)
    expect(krl.readBigUInt64BE(12)).toBe(7n)
    expect(krl.readBigUInt64BE(20)).toBe(BigInt(Date.UTC(2025, 0, 2, 3, 4, 5) / 1000))
    expect(krl.readBigUInt64BE(28)).toBe(0n)
    writeFileSync(join(dir, 'listed.krl'), krl)
    const listed = await runSshKeygen(['-Q', '-l', '-f', join(dir, 'listed.krl')])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain('# KRL version 7')
    expect(listed.stdout).toContain('# Comment: jitssh user CA revocations')
    expect(listed.stdout.match(/^(serial|id): .*$/gm)).toEqual(['serial: 2', 'serial: 9', 'id: a', 'id: b'])
  })

  it('refuses serial 0 and out-of-range serials (OpenSSH would reject the whole KRL) and empty key ids', () => {
    expect(() => buildKrl(input([{ ca: null, serials: [0n], keyIds: [] }]))).toThrow(RangeError)
    expect(() => buildKrl(input([{ ca: null, serials: [2n ** 64n], keyIds: [] }]))).toThrow(RangeError)
    expect(() => buildKrl(input([{ ca: null, serials: [], keyIds: [''] }]))).toThrow(RangeError)
  })
})
