// Certificates per PROTOCOL.certkeys, with ssh-keygen -L / -s as the oracle and sshpk as a second opinion.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'
import sshpk from 'sshpk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readValidBefore } from '../../src/ssh/cert-validity.js'
import { parseCertificate, signCertificate, type CertificateFields, type CertificateType, type SshCertificate } from '../../src/ssh/certificate.js'
import { keyPairSigner, type Signer } from '../../src/ssh/signer.js'
import { SshFormatError } from '../../src/ssh/errors.js'
import { encodePrivateKey, fingerprint, formatPublicKey, generateKeyPair, signData, type KeyType, type SshKeyPair } from '../../src/ssh/keys.js'
import { SshReader, SshWriter } from '../../src/ssh/wire.js'
import { runSshKeygen } from '../helpers/sshd.js'

const KEY_TYPES: KeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256']
const LABEL: Record<string, string> = { 'ssh-ed25519': 'ED25519', 'ecdsa-sha2-nistp256': 'ECDSA', 'ssh-rsa': 'RSA' }
const UTC = { TZ: 'UTC' }
let dir: string
let fileCount = 0

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-certs-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function expectCertificateError(run: () => unknown, message?: RegExp): void {
  let thrown: unknown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  checkCertificateError(thrown, message)
}

async function expectSigningRefused(signing: Promise<unknown>, message?: RegExp): Promise<void> {
  checkCertificateError(await signing.then(() => undefined, (error: unknown) => error), message)
}

function checkCertificateError(thrown: unknown, message?: RegExp): void {
  expect(thrown).toBeInstanceOf(SshFormatError)
  expect((thrown as SshFormatError).code).toBe('ERR_INVALID_CERTIFICATE')
  if (message) expect((thrown as SshFormatError).message).toMatch(message)
}

function fieldsFor(subject: SshKeyPair, overrides: Partial<CertificateFields> = {}): CertificateFields {
  return {
    type: 'user',
    publicKey: subject.publicKey,
    serial: 0xfedcba9876543210n,
    keyId: 'alice@example.com session=s-1 host=vm.example.com',
    principals: ['alice', 'deploy'],
    validAfter: 1_700_000_000n,
    validBefore: 1_900_000_000n,
    criticalOptions: { 'source-address': '10.0.0.0/8,127.0.0.1/32', 'force-command': '/usr/bin/true' },
    extensions: ['permit-pty', 'permit-X11-forwarding', 'permit-port-forwarding', 'permit-agent-forwarding'],
    ...overrides,
  }
}

function write(text: string, suffix = '-cert.pub'): string {
  const path = join(dir, `file${++fileCount}${suffix}`)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

/** `ssh-keygen -L` output as a map of "Field" -> rest of line, plus the indented lists. */
async function describeWithKeygen(line: string): Promise<{ code: number | null; stderr: string; text: string; list: (field: string) => string[] }> {
  const result = await runSshKeygen(['-L', '-f', write(`${line}\n`)], { env: UTC })
  const lines = result.stdout.split('\n')
  const list = (field: string): string[] => {
    const start = lines.findIndex((l) => l.trim().startsWith(`${field}:`))
    const out: string[] = []
    for (const l of lines.slice(start + 1)) {
      if (!/^\s{16}\S/.test(l)) break
      out.push(l.trim())
    }
    return out
  }
  return { code: result.code, stderr: result.stderr, text: result.stdout, list }
}

const isoSeconds = (seconds: bigint): string => new Date(Number(seconds) * 1000).toISOString().slice(0, 19)

describe.each(KEY_TYPES.flatMap((ca) => KEY_TYPES.flatMap((subject) => (['user', 'host'] as CertificateType[]).map((type) => [ca, subject, type] as const))))(
  'a %s CA signing a %s %s certificate',
  (caType, subjectType, certType) => {
    const ca = generateKeyPair(caType, 'test-ca')
    const subject = generateKeyPair(subjectType)
    const fields =
      certType === 'user' ? fieldsFor(subject) : fieldsFor(subject, { type: 'host', principals: ['vm.example.com'], criticalOptions: {}, extensions: [] })
    let cert: SshCertificate
    beforeAll(async () => {
      cert = await signCertificate(fields, keyPairSigner(ca), 'jitssh')
    })

    it('is accepted by ssh-keygen -L, which shows every field we set', async () => {
      const shown = await describeWithKeygen(cert.line)
      expect(shown.code, shown.stderr).toBe(0)
      expect(shown.text).toContain(`Type: ${subjectType}-cert-v01@openssh.com ${certType} certificate`)
      expect(shown.text).toContain(`Public key: ${LABEL[subjectType]}-CERT ${fingerprint(subject.publicKey)}`)
      expect(shown.text).toContain(`Signing CA: ${LABEL[caType]} ${fingerprint(ca.publicKey)} (using ${caType})`)
      expect(shown.text).toContain(`Key ID: "${fields.keyId}"`)
      expect(shown.text).toContain(`Serial: ${fields.serial}`)
      expect(shown.text).toContain(`Valid: from ${isoSeconds(fields.validAfter)} to ${isoSeconds(fields.validBefore)}`)
      expect(shown.list('Principals')).toEqual(fields.principals)
      if (certType === 'user') {
        expect(shown.list('Critical Options')).toEqual(['force-command /usr/bin/true', 'source-address 10.0.0.0/8,127.0.0.1/32'])
        // Sorted by byte value: "permit-X11-..." (capital X) sorts first.
        expect(shown.list('Extensions')).toEqual(['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty'])
      } else {
        expect(shown.text).toMatch(/Critical Options: \(none\)/)
        expect(shown.text).toMatch(/Extensions: \(none\)/)
      }
    })

    it('parses back to the same fields, and sshpk agrees it is signed by the CA', () => {
      const parsed = parseCertificate(cert.line)
      expect(parsed.type).toBe(certType)
      expect(parsed.publicKey.blob.equals(subject.publicKey.blob)).toBe(true)
      expect(parsed.signatureKey.blob.equals(ca.publicKey.blob)).toBe(true)
      expect([parsed.serial, parsed.keyId, parsed.principals, parsed.validAfter, parsed.validBefore]).toEqual([fields.serial, fields.keyId, fields.principals, fields.validAfter, fields.validBefore])
      expect(parsed.criticalOptions).toEqual(fields.criticalOptions)
      expect(parsed.extensions).toEqual([...fields.extensions].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
      expect(parsed.nonce.length).toBe(32)
      expect(parsed.line).toBe(cert.line)
      expect(parseCertificate(cert.blob).blob.equals(cert.blob)).toBe(true)
      // signCertificate builds its result without parsing its own output: it must be what parsing gives.
      const withoutKeyObjects = (c: typeof cert) => ({ ...c, publicKey: { ...c.publicKey, key: null }, signatureKey: { ...c.signatureKey, key: null } })
      expect(withoutKeyObjects(cert)).toEqual(withoutKeyObjects(parsed))
      expect(cert.publicKey.key.equals(parsed.publicKey.key) && cert.signatureKey.key.equals(parsed.signatureKey.key)).toBe(true)

      const theirs = sshpk.parseCertificate(cert.line.split(' ').slice(0, 2).join(' '), 'openssh')
      expect(theirs.isSignedByKey(sshpk.parseKey(formatPublicKey(ca.publicKey), 'ssh'))).toBe(true)
      expect(theirs.isSignedByKey(sshpk.parseKey(formatPublicKey(generateKeyPair(caType).publicKey), 'ssh'))).toBe(false)
      expect(theirs.serial.toString('hex')).toBe(fields.serial.toString(16).padStart(16, '0'))
      expect(theirs.validUntil.getTime()).toBe(Number(fields.validBefore) * 1000)
    })

    it('readValidBefore agrees with parseCertificate', () => {
      expect(readValidBefore(`${cert.line}\n`)).toBe(Number(parseCertificate(cert.line).validBefore))
    })
  },
)

describe('readValidBefore (the ssh-gen fast path)', () => {
  it('loads no other module, not even a node: built-in', () => {
    // esbuild, which bundles the fast path into dist/fast-path.cjs, follows every import the module makes
    // (static, dynamic, require): in the bundle of cert-validity.ts that file is the only input, importing nothing.
    const { metafile } = buildSync({
      absWorkingDir: fileURLToPath(new URL('../..', import.meta.url)),
      entryPoints: ['src/ssh/cert-validity.ts'],
      bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', logLevel: 'silent',
    })
    expect(Object.entries(metafile.inputs).map(([file, input]) => [file, input.imports])).toEqual([['src/ssh/cert-validity.ts', []]])
  })
})

describe('certificates ssh-keygen -s makes', () => {
  const caTypes = [
    ['ed25519', ['-t', 'ed25519']],
    ['ecdsa', ['-t', 'ecdsa', '-b', '256']],
    ['rsa', ['-t', 'rsa', '-b', '2048']],
  ] as const

  async function keygen(name: string, args: readonly string[]): Promise<string> {
    const path = join(dir, name)
    const result = await runSshKeygen(['-q', '-N', '', '-f', path, ...args])
    expect(result.code, result.stderr).toBe(0)
    return path
  }

  it.each(caTypes)('parses and verifies user and host certificates from a %s CA', async (name, args) => {
    const caPath = await keygen(`ca-${name}`, args)
    for (const [subjectName, subjectArgs] of caTypes.slice(0, 2)) {
      const subjectPath = await keygen(`subject-${name}-${subjectName}`, subjectArgs)
      const user = await runSshKeygen(
        ['-s', caPath, '-I', 'their key id', '-n', 'root,alice', '-z', '4242', '-V', '20240101000000:20300101000000', '-O', 'clear', '-O', 'permit-pty', '-O', 'force-command=/bin/date', '-O', 'source-address=192.0.2.0/24', subjectPath],
        { env: UTC },
      )
      expect(user.code, user.stderr).toBe(0)
      const line = readFileSync(`${subjectPath}-cert.pub`, 'utf8')
      const cert = parseCertificate(line)
      expect(cert).toMatchObject({ type: 'user', keyId: 'their key id', principals: ['root', 'alice'], serial: 4242n, extensions: ['permit-pty'] })
      expect(cert.criticalOptions).toEqual({ 'force-command': '/bin/date', 'source-address': '192.0.2.0/24' })
      expect(cert.validAfter).toBe(BigInt(Date.UTC(2024, 0, 1) / 1000))
      expect(cert.validBefore).toBe(BigInt(Date.UTC(2030, 0, 1) / 1000))
      expect(formatPublicKey(cert.signatureKey)).toBe(readFileSync(`${caPath}.pub`, 'utf8').trim().replace(/ \S+$/, ''))
      expect(formatPublicKey(cert.publicKey)).toBe(readFileSync(`${subjectPath}.pub`, 'utf8').trim().replace(/ \S+$/, ''))
      expect(readValidBefore(line)).toBe(Number(cert.validBefore))

      const host = await runSshKeygen(['-s', caPath, '-h', '-I', 'host id', '-n', 'vm.example.com', subjectPath])
      expect(host.code, host.stderr).toBe(0)
      const hostLine = readFileSync(`${subjectPath}-cert.pub`, 'utf8')
      const hostCert = parseCertificate(hostLine)
      expect(hostCert).toMatchObject({ type: 'host', principals: ['vm.example.com'], validAfter: 0n, validBefore: 2n ** 64n - 1n, extensions: [] })
      expect(readValidBefore(hostLine)).toBe(Number(2n ** 64n - 1n))
    }
  })

  it('rejects an RSA CA signature made with SHA-1 (ssh-rsa)', async () => {
    const caPath = await keygen('ca-sha1', ['-t', 'rsa', '-b', '2048'])
    const subjectPath = await keygen('subject-sha1', ['-t', 'ed25519'])
    const signed = await runSshKeygen(['-s', caPath, '-t', 'ssh-rsa', '-I', 'id', '-n', 'root', subjectPath])
    expect(signed.code, signed.stderr).toBe(0)
    const line = readFileSync(`${subjectPath}-cert.pub`, 'utf8')
    const shown = await describeWithKeygen(line.trim())
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.text).toContain('(using ssh-rsa)')
    expectCertificateError(() => parseCertificate(line), /CA signature does not verify/)
  })

  it('rejects a tampered byte anywhere in an ssh-keygen certificate', async () => {
    const caPath = await keygen('ca-tamper', ['-t', 'ecdsa', '-b', '256'])
    const subjectPath = await keygen('subject-tamper', ['-t', 'ed25519'])
    await runSshKeygen(['-s', caPath, '-I', 'id', '-n', 'root', subjectPath])
    expectEveryFlipRejected(parseCertificate(readFileSync(`${subjectPath}-cert.pub`, 'utf8')).blob)
  })
})

describe('hostile certificates', () => {
  const ca = generateKeyPair('ssh-ed25519')
  const subject = generateKeyPair('ecdsa-sha2-nistp256')
  let cert: SshCertificate
  beforeAll(async () => {
    cert = await signCertificate(fieldsFor(subject), keyPairSigner(ca))
  })

  it('rejects a tampered byte anywhere, and ssh-keygen agrees for a signed byte', async () => {
    expectEveryFlipRejected(cert.blob)
    const tampered = Buffer.from(cert.blob)
    tampered[tampered.length - 200] = (tampered[tampered.length - 200] as number) ^ 1
    const shown = await describeWithKeygen(`${cert.line.split(' ')[0]} ${tampered.toString('base64')}`)
    expect(shown.code).not.toBe(0)
  })

  it('rejects truncations, trailing bytes, unknown types and a plain key', () => {
    for (let length = 0; length < cert.blob.length; length += 7) expectCertificateError(() => parseCertificate(cert.blob.subarray(0, length)))
    expectCertificateError(() => parseCertificate(Buffer.concat([cert.blob, Buffer.from([0])])), /trailing/)
    expectCertificateError(() => parseCertificate(`ssh-dss-cert-v01@openssh.com ${cert.blob.toString('base64')}`), /not a supported certificate type/)
    expectCertificateError(() => parseCertificate(`ssh-ed25519-cert-v01@openssh.com ${cert.blob.toString('base64')}`), /line says/)
    expectCertificateError(() => parseCertificate(formatPublicKey(subject.publicKey)), /not a supported certificate type/)
    expectCertificateError(() => parseCertificate(`${cert.line.split(' ')[0]} not*base64`), /base64/)
    expect(readValidBefore(formatPublicKey(subject.publicKey))).toBeNull()
    expect(readValidBefore('garbage')).toBeNull()
    expect(readValidBefore(`${cert.line.split(' ')[0]} ${cert.blob.subarray(0, 120).toString('base64')}`)).toBeNull()
    expect(readValidBefore(`ssh-ed25519-cert-v01@openssh.com ${cert.blob.toString('base64')}`)).toBeNull()
  })

  it('rejects a CA key that is itself a certificate (chained), though signed correctly', () => {
    const chained = resign(cert.blob, subject, { signatureKey: new SshWriter().string(cert.blob).toBuffer() })
    expectCertificateError(() => parseCertificate(chained), /certificate .* is not a plain public key/)
  })

  it('rejects an unknown certificate type code and unsorted options, though signed correctly', () => {
    expect(parseCertificate(resign(cert.blob, ca, {})).keyId).toBe(cert.keyId) // the re-signing itself is sound
    const typeThree = Buffer.alloc(4)
    typeThree.writeUInt32BE(3)
    expectCertificateError(() => parseCertificate(resign(cert.blob, ca, { certType: typeThree })), /unknown certificate type code 3/)
    const unsorted = new SshWriter().string('permit-pty').string('').string('permit-agent-forwarding').string('').toBuffer()
    expectCertificateError(() => parseCertificate(resign(cert.blob, ca, { extensions: new SshWriter().string(unsorted).toBuffer() })), /sorted order/)
    const repeated = new SshWriter().string('force-command').string(new SshWriter().string('a').toBuffer()).string('force-command').string(new SshWriter().string('b').toBuffer()).toBuffer()
    expectCertificateError(() => parseCertificate(resign(cert.blob, ca, { criticalOptions: new SshWriter().string(repeated).toBuffer() })), /sorted order or repeat/)
  })

  it('refuses to sign certificates that would be unsafe or unreadable', async () => {
    const signer = keyPairSigner(ca)
    await expectSigningRefused(signCertificate(fieldsFor(subject, { principals: [] }), signer), /no principals/)
    await expectSigningRefused(signCertificate(fieldsFor(subject, { principals: [''] }), signer), /principal is empty/)
    await expectSigningRefused(signCertificate(fieldsFor(subject, { keyId: 'a\nForged log line' }), signer), /control character/)
    await expectSigningRefused(signCertificate(fieldsFor(subject, { validAfter: 10n, validBefore: 10n }), signer), /earlier/)
    await expectSigningRefused(signCertificate(fieldsFor(subject, { serial: 2n ** 64n }), signer), /uint64/)
    await expectSigningRefused(signCertificate(fieldsFor(subject, { extensions: ['permit-pty', 'permit-pty'] }), signer), /twice/)
    await expectSigningRefused(signCertificate(fieldsFor(subject, { criticalOptions: { 'force-command': 'a\0b' } }), signer), /control character/)
    await expectSigningRefused(signCertificate(fieldsFor(subject), signer, 'two\nlines'), /line break/)
  })

  it('issues nothing when the signer fails, or answers with another algorithm or garbage', async () => {
    const failing: Signer = { publicKey: ca.publicKey, sign: async () => Promise.reject(new Error('KMS unavailable')) }
    await expect(signCertificate(fieldsFor(subject), failing)).rejects.toThrow('KMS unavailable')
    const ecdsa = keyPairSigner(generateKeyPair('ecdsa-sha2-nistp256'))
    await expectSigningRefused(signCertificate(fieldsFor(subject), { publicKey: ca.publicKey, sign: ecdsa.sign }), /signed with ecdsa-sha2-nistp256, not ssh-ed25519/)
    await expectSigningRefused(signCertificate(fieldsFor(subject), { publicKey: ca.publicKey, sign: async () => Buffer.from('garbage') }), /malformed signature/)
  })

  it('keeps a hostile "__proto__" critical option as plain data', () => {
    const options = new SshWriter().string('__proto__').string(new SshWriter().string('x').toBuffer()).toBuffer()
    const parsed = parseCertificate(resign(cert.blob, ca, { criticalOptions: new SshWriter().string(options).toBuffer() }))
    expect(Object.getPrototypeOf(parsed.criticalOptions)).toBe(Object.prototype)
    expect(Object.entries(parsed.criticalOptions)).toEqual([['__proto__', 'x']])
  })

  it('signs with a caller-chosen nonce and writes a private key ssh can pair with it', async () => {
    const nonce = Buffer.alloc(16, 7)
    const withNonce = await signCertificate(fieldsFor(subject, { nonce }), keyPairSigner(ca))
    expect(withNonce.nonce.equals(nonce)).toBe(true)
    expect(encodePrivateKey(subject)).toContain('BEGIN OPENSSH PRIVATE KEY')
  })
})

// --- helpers ---

function expectEveryFlipRejected(blob: Buffer): void {
  for (let i = 0; i < blob.length; i++) {
    const tampered = Buffer.from(blob)
    tampered[i] = (tampered[i] as number) ^ 0x01
    expectCertificateError(() => parseCertificate(tampered))
  }
}

type FieldName = 'type' | 'nonce' | 'key' | 'serial' | 'certType' | 'keyId' | 'principals' | 'validAfter' | 'validBefore' | 'criticalOptions' | 'extensions' | 'reserved' | 'signatureKey'

/** Byte ranges of each field of a certificate blob (all but the signature). */
function layout(blob: Buffer): Array<[FieldName, number, number]> {
  const reader = new SshReader(blob, 'ERR_INVALID_CERTIFICATE', 'test')
  const ranges: Array<[FieldName, number, number]> = []
  const field = (name: FieldName, read: () => unknown): void => {
    const start = reader.position
    read()
    ranges.push([name, start, reader.position])
  }
  let type = ''
  field('type', () => (type = reader.text()))
  field('nonce', () => reader.string())
  field('key', () => (type.startsWith('ecdsa') ? (reader.string(), reader.string()) : reader.string()))
  field('serial', () => reader.uint64())
  field('certType', () => reader.uint32())
  for (const name of ['keyId', 'principals'] as const) field(name, () => reader.string())
  field('validAfter', () => reader.uint64())
  field('validBefore', () => reader.uint64())
  for (const name of ['criticalOptions', 'extensions', 'reserved', 'signatureKey'] as const) field(name, () => reader.string())
  return ranges
}

/** Replaces whole encoded fields, then signs the result again with `signer` (so only the edit is wrong). */
function resign(blob: Buffer, signer: SshKeyPair, replacements: Partial<Record<FieldName, Buffer>>): Buffer {
  const body = layout(blob).map(([name, start, end]) => replacements[name] ?? blob.subarray(start, end))
  const signed = Buffer.concat(body)
  return new SshWriter().raw(signed).string(signData(signer, signed)).toBuffer()
}

