// Keys in OpenSSH's formats, with ssh-keygen as the oracle and sshpk as a second opinion.
import { createHash } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sshpk from 'sshpk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SshFormatError } from '../../src/ssh/errors.js'
import {
  encodePrivateKey,
  fingerprint,
  formatPublicKey,
  generateKeyPair,
  parsePrivateKey,
  parsePublicKey,
  signData,
  verifySignature,
  type KeyType,
  type SshKeyPair,
} from '../../src/ssh/keys.js'
import { SshReader, SshWriter } from '../../src/ssh/wire.js'
import { runSshKeygen } from '../helpers/sshd.js'

const KEY_TYPES: KeyType[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256']
let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-keys-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function expectFormatError(run: () => unknown, code: string, message?: RegExp): void {
  let thrown: unknown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(SshFormatError)
  expect((thrown as SshFormatError).code).toBe(code)
  if (message) expect((thrown as SshFormatError).message).toMatch(message)
}

/** Generates a key with ssh-keygen; returns [private key text, public key line]. */
async function keygen(name: string, args: string[]): Promise<[string, string]> {
  const path = join(dir, name)
  const result = await runSshKeygen(['-q', '-N', '', '-C', `${name}@test`, '-f', path, ...args])
  expect(result.code, result.stderr).toBe(0)
  return [readFileSync(path, 'utf8'), readFileSync(`${path}.pub`, 'utf8').trim()]
}

function writeKey(name: string, pair: SshKeyPair): string {
  const path = join(dir, name)
  writeFileSync(path, encodePrivateKey(pair), { mode: 0o600 })
  writeFileSync(`${path}.pub`, `${formatPublicKey(pair.publicKey)}\n`)
  return path
}

describe.each(KEY_TYPES)('%s keys we generate', (type) => {
  it('ssh-keygen -y reads our private key and prints our public line', async () => {
    const pair = generateKeyPair(type, 'alice@example.com')
    const path = writeKey(`ours-${type}`, pair)
    const result = await runSshKeygen(['-y', '-f', path])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe(formatPublicKey(pair.publicKey))
  })

  it('ssh-keygen -l prints our fingerprint', async () => {
    const pair = generateKeyPair(type, 'fp@test')
    const path = writeKey(`fp-${type}`, pair)
    const result = await runSshKeygen(['-l', '-f', `${path}.pub`])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.split(' ')[1]).toBe(fingerprint(pair.publicKey))
    expect(fingerprint(pair.publicKey.blob)).toBe(fingerprint(pair.publicKey))
  })

  it('round-trips through our own parser and agrees with sshpk', () => {
    const pair = generateKeyPair(type, 'round@trip')
    const pem = encodePrivateKey(pair)
    const back = parsePrivateKey(pem)
    expect(back.type).toBe(type)
    expect(back.publicKey.blob.equals(pair.publicKey.blob)).toBe(true)
    expect(back.publicKey.comment).toBe('round@trip')
    const line = formatPublicKey(pair.publicKey)
    expect(parsePublicKey(line).blob.equals(pair.publicKey.blob)).toBe(true)
    expect(sshpk.parseKey(line, 'ssh').fingerprint('sha256').toString()).toBe(fingerprint(pair.publicKey))
    const theirs = sshpk.parsePrivateKey(pem, 'openssh')
    expect(theirs.toPublic().toString('ssh').split(' ')[1]).toBe(line.split(' ')[1])
  })

  it('signs so that ssh-keygen -Y verifies, and verifies what ssh-keygen -Y signs', async () => {
    const pair = generateKeyPair(type, 'signer@test')
    const message = Buffer.from('the message')
    writeFileSync(join(dir, 'message'), message)
    writeFileSync(join(dir, `ours-${type}.sig`), sshsigArmor(pair, message, 'file'))
    const check = await runSshKeygen(['-Y', 'check-novalidate', '-n', 'file', '-s', join(dir, `ours-${type}.sig`)], { input: 'the message' })
    expect(check.code, check.stderr).toBe(0)
    const tampered = await runSshKeygen(['-Y', 'check-novalidate', '-n', 'file', '-s', join(dir, `ours-${type}.sig`)], { input: 'the massage' })
    expect(tampered.code).not.toBe(0)

    const path = writeKey(`signer-${type}`, pair)
    const signed = await runSshKeygen(['-Y', 'sign', '-f', path, '-n', 'file', join(dir, 'message')])
    expect(signed.code, signed.stderr).toBe(0)
    const { signedData, signature } = readSshsig(readFileSync(join(dir, 'message.sig'), 'utf8'), message)
    expect(verifySignature(pair.publicKey, signedData, signature)).toBe(true)
    expect(verifySignature(pair.publicKey, Buffer.concat([signedData, Buffer.from('x')]), signature)).toBe(false)
    rmSync(join(dir, 'message.sig'))
  })

  it('rejects signatures by another key, over other data, or under another algorithm name', () => {
    const pair = generateKeyPair(type)
    const data = Buffer.from('data')
    const signature = signData(pair, data)
    expect(verifySignature(pair.publicKey, data, signature)).toBe(true)
    expect(verifySignature(generateKeyPair(type).publicKey, data, signature)).toBe(false)
    expect(verifySignature(pair.publicKey, Buffer.from('datA'), signature)).toBe(false)
    const reader = new SshReader(signature, 'ERR_INVALID_KEY', 'signature')
    reader.string()
    const body = reader.string()
    const renamed = new SshWriter().string(type === 'ssh-ed25519' ? 'ecdsa-sha2-nistp256' : 'ssh-ed25519').string(body).toBuffer()
    expect(verifySignature(pair.publicKey, data, renamed)).toBe(false)
    expect(verifySignature(pair.publicKey, data, Buffer.concat([signature, Buffer.from([0])]))).toBe(false)
    expect(verifySignature(pair.publicKey, data, signature.subarray(0, signature.length - 1))).toBe(false)
  })
})

describe('keys ssh-keygen generates', () => {
  it.each([
    ['ed25519', ['-t', 'ed25519']],
    ['ecdsa', ['-t', 'ecdsa', '-b', '256']],
  ])('parses %s private and public keys and matches ssh-keygen -l', async (name, args) => {
    const [privateText, publicLine] = await keygen(`theirs-${name}`, args)
    const pair = parsePrivateKey(privateText)
    expect(formatPublicKey(pair.publicKey)).toBe(publicLine)
    const parsed = parsePublicKey(publicLine)
    expect(parsed.comment).toBe(`theirs-${name}@test`)
    const printed = await runSshKeygen(['-l', '-f', join(dir, `theirs-${name}.pub`)])
    expect(printed.stdout.split(' ')[1]).toBe(fingerprint(parsed))
  })

  it.each([
    ['ed25519', ['-t', 'ed25519']],
    ['ecdsa', ['-t', 'ecdsa', '-b', '256']],
  ])('re-encodes a %s private key byte for byte as ssh-keygen wrote it (checkints aside)', async (name, args) => {
    const [privateText] = await keygen(`exact-${name}`, args)
    const ours = encodePrivateKey(parsePrivateKey(privateText))
    expect(ours.split('\n').map((line) => line.length)).toEqual(privateText.split('\n').map((line) => line.length))
    const theirBytes = pemBody(privateText)
    const ourBytes = pemBody(ours)
    const at = checkintOffset(theirBytes)
    expect(ourBytes.readUInt32BE(at)).toBe(ourBytes.readUInt32BE(at + 4))
    theirBytes.copy(ourBytes, at, at, at + 8)
    expect(ourBytes.toString('hex')).toBe(theirBytes.toString('hex'))
  })

  it('accepts RSA of 2048 bits only with allowRsa, and fingerprints it as ssh-keygen does', async () => {
    const [, line] = await keygen('rsa2048', ['-t', 'rsa', '-b', '2048'])
    expectFormatError(() => parsePublicKey(line), 'ERR_INVALID_KEY', /RSA keys are not accepted/)
    const key = parsePublicKey(line, { allowRsa: true })
    expect(key.type).toBe('ssh-rsa')
    const printed = await runSshKeygen(['-l', '-f', join(dir, 'rsa2048.pub')])
    expect(printed.stdout.split(' ')[1]).toBe(fingerprint(key))
    expect(formatPublicKey(key)).toBe(line)
  })
})

describe('hostile public keys', () => {
  const ed = generateKeyPair('ssh-ed25519').publicKey
  const ec = generateKeyPair('ecdsa-sha2-nistp256').publicKey

  it('rejects DSA, RSA under 2048 bits (even with allowRsa) and unsupported curves', async () => {
    const [, dsa] = await keygen('dsa', ['-t', 'dsa'])
    expectFormatError(() => parsePublicKey(dsa), 'ERR_INVALID_KEY', /DSA keys are not accepted/)
    const [, rsa1024] = await keygen('rsa1024', ['-t', 'rsa', '-b', '1024'])
    expectFormatError(() => parsePublicKey(rsa1024, { allowRsa: true }), 'ERR_INVALID_KEY', /under 2048 bits/)
    const [, p384] = await keygen('p384', ['-t', 'ecdsa', '-b', '384'])
    expectFormatError(() => parsePublicKey(p384), 'ERR_INVALID_KEY', /unsupported key type/)
  })

  it('rejects a certificate offered as a plain key, as a line and as a blob', async () => {
    const [, caLine] = await keygen('cert-ca', ['-t', 'ed25519'])
    const [, userLine] = await keygen('cert-user', ['-t', 'ed25519'])
    expect(caLine).toMatch(/^ssh-ed25519 /)
    const signed = await runSshKeygen(['-s', join(dir, 'cert-ca'), '-I', 'id', '-n', 'root', join(dir, 'cert-user.pub')])
    expect(signed.code, signed.stderr).toBe(0)
    expect(userLine).toMatch(/^ssh-ed25519 /)
    const certLine = readFileSync(join(dir, 'cert-user-cert.pub'), 'utf8').trim()
    expectFormatError(() => parsePublicKey(certLine), 'ERR_INVALID_KEY', /certificate/)
    const blob = Buffer.from(certLine.split(' ')[1] ?? '', 'base64')
    expectFormatError(() => parsePublicKey(blob), 'ERR_INVALID_KEY', /certificate/)
    expectFormatError(() => parsePublicKey(`ssh-ed25519 ${blob.toString('base64')}`), 'ERR_INVALID_KEY', /certificate/)
  })

  it('rejects every truncation of a valid blob', () => {
    for (const key of [ed, ec]) {
      for (let length = 0; length < key.blob.length; length++) {
        expectFormatError(() => parsePublicKey(key.blob.subarray(0, length)), 'ERR_INVALID_KEY')
      }
    }
  })

  it('rejects huge lengths without reading or allocating them, and trailing bytes', () => {
    const huge = Buffer.from(ed.blob)
    huge.writeUInt32BE(0xffffffff, 15) // the length of the 32-byte key
    expectFormatError(() => parsePublicKey(huge), 'ERR_INVALID_KEY', /truncated/)
    const hugeType = Buffer.from(ed.blob)
    hugeType.writeUInt32BE(0x7fffffff, 0)
    expectFormatError(() => parsePublicKey(hugeType), 'ERR_INVALID_KEY', /truncated/)
    expectFormatError(() => parsePublicKey(Buffer.concat([ed.blob, Buffer.from([0])])), 'ERR_INVALID_KEY', /trailing/)
    const short = new SshWriter().string('ssh-ed25519').string(Buffer.alloc(31, 1)).toBuffer()
    expectFormatError(() => parsePublicKey(short), 'ERR_INVALID_KEY', /32 bytes/)
  })

  it('rejects ECDSA points that are not on P-256, compressed or out of the field', () => {
    const point = Buffer.from(ec.blob.subarray(ec.blob.length - 65))
    const withPoint = (p: Buffer): Buffer => new SshWriter().string('ecdsa-sha2-nistp256').string('nistp256').string(p).toBuffer()
    const offCurve = Buffer.from(point)
    offCurve[64] = (offCurve[64] as number) ^ 1
    expectFormatError(() => parsePublicKey(withPoint(offCurve)), 'ERR_INVALID_KEY', /not on the P-256 curve/)
    const fieldMax = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 0xff)])
    expectFormatError(() => parsePublicKey(withPoint(fieldMax)), 'ERR_INVALID_KEY', /not on the P-256 curve/)
    const compressed = Buffer.concat([Buffer.from([2]), point.subarray(1, 33)])
    expectFormatError(() => parsePublicKey(withPoint(compressed)), 'ERR_INVALID_KEY', /uncompressed/)
    const infinity = Buffer.from([0])
    expectFormatError(() => parsePublicKey(withPoint(infinity)), 'ERR_INVALID_KEY', /uncompressed/)
    const wrongCurve = new SshWriter().string('ecdsa-sha2-nistp256').string('nistp384').string(point).toBuffer()
    expectFormatError(() => parsePublicKey(wrongCurve), 'ERR_INVALID_KEY', /curve/)
    expect(parsePublicKey(withPoint(point)).blob.equals(ec.blob)).toBe(true)
  })

  it('rejects garbage lines: bad base64, type mismatch, several lines, empty', () => {
    const b64 = ed.blob.toString('base64')
    expectFormatError(() => parsePublicKey(`ssh-ed25519 ${b64.slice(0, 10)}$$${b64.slice(12)}`), 'ERR_INVALID_KEY', /base64/)
    const ecB64 = ec.blob.toString('base64') // 104 bytes: one '=' of padding, two unused bits
    expect(ecB64).toMatch(/[^=]=$/)
    expectFormatError(() => parsePublicKey(`ecdsa-sha2-nistp256 ${ecB64.slice(0, -1)}`), 'ERR_INVALID_KEY', /base64/)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    const lastData = alphabet.indexOf(ecB64.at(-2) ?? '')
    const nonCanonical = `${ecB64.slice(0, -2)}${alphabet[lastData ^ 1]}=`
    expect(Buffer.from(nonCanonical, 'base64').equals(ec.blob)).toBe(true) // Buffer.from alone would accept it
    expectFormatError(() => parsePublicKey(`ecdsa-sha2-nistp256 ${nonCanonical}`), 'ERR_INVALID_KEY', /base64/)
    expectFormatError(() => parsePublicKey(`ecdsa-sha2-nistp256 ${b64}`), 'ERR_INVALID_KEY', /says ecdsa-sha2-nistp256/)
    expectFormatError(() => parsePublicKey(`ssh-ed25519 ${b64} a\nssh-ed25519 ${b64} b`), 'ERR_INVALID_KEY', /more than one line/)
    expectFormatError(() => parsePublicKey(''), 'ERR_INVALID_KEY', /empty/)
    expectFormatError(() => parsePublicKey('not a key at all'), 'ERR_INVALID_KEY')
    expectFormatError(() => parsePublicKey(`ssh-ed25519 ${'A'.repeat(20_000)}`), 'ERR_INVALID_KEY', /longer than/)
    expect(parsePublicKey(`  ssh-ed25519\t${b64}  two words  \n`).comment).toBe('two words')
    expect(parsePublicKey(b64).blob.equals(ed.blob)).toBe(true)
  })
})

describe('hostile private keys', () => {
  it('rejects encrypted keys, wrong armour, broken checkints, padding and truncation', async () => {
    const [encrypted] = await keygenWithPassphrase('encrypted')
    expectFormatError(() => parsePrivateKey(encrypted), 'ERR_INVALID_KEY', /encrypted private keys are not supported/)
    const pem = encodePrivateKey(generateKeyPair('ssh-ed25519', 'x'))
    expectFormatError(() => parsePrivateKey(pem.replace(/OPENSSH/g, 'RSA')), 'ERR_INVALID_KEY', /not an OpenSSH private key/)
    const bytes = pemBody(pem)
    const at = checkintOffset(bytes)
    const badCheckint = Buffer.from(bytes)
    badCheckint[at] = (badCheckint[at] as number) ^ 1
    expectFormatError(() => parsePrivateKey(toPem(badCheckint)), 'ERR_INVALID_KEY', /checkints differ/)
    const badPadding = Buffer.from(bytes)
    badPadding[badPadding.length - 1] = 0xee
    expectFormatError(() => parsePrivateKey(toPem(badPadding)), 'ERR_INVALID_KEY', /padding/)
    for (const length of [10, 40, at, bytes.length - 9]) {
      expectFormatError(() => parsePrivateKey(toPem(bytes.subarray(0, length))), 'ERR_INVALID_KEY')
    }
  })

  it('rejects a private section whose key does not match the public key', () => {
    const one = pemBody(encodePrivateKey(generateKeyPair('ssh-ed25519')))
    const other = generateKeyPair('ssh-ed25519').publicKey.blob
    const publicStart = checkintOffset(one) - 4 - 4 - other.length // the public blob string precedes the section
    other.copy(one, publicStart + 4)
    expectFormatError(() => parsePrivateKey(toPem(one)), 'ERR_INVALID_KEY', /different public key/)
  })
})

describe('SSH wire reader', () => {
  it('reads strings as bounded views and rejects non-minimal or negative mpints', () => {
    const reader = new SshReader(new SshWriter().string('ab').uint64(2n ** 64n - 1n).mpint(Buffer.from([0x80])).toBuffer(), 'ERR_INVALID_KEY', 'test')
    expect(reader.text()).toBe('ab')
    expect(reader.uint64()).toBe(2n ** 64n - 1n)
    expect([...reader.mpint()]).toEqual([0x80])
    reader.end()
    expectFormatError(() => new SshReader(Buffer.from([0, 0, 0, 2, 0, 1]), 'ERR_INVALID_KEY', 't').mpint(), 'ERR_INVALID_KEY', /minimally/)
    expectFormatError(() => new SshReader(Buffer.from([0, 0, 0, 1, 0x80]), 'ERR_INVALID_KEY', 't').mpint(), 'ERR_INVALID_KEY', /negative/)
    expectFormatError(() => new SshReader(Buffer.from([0, 0, 0, 1, 0]), 'ERR_INVALID_CERTIFICATE', 't').text(), 'ERR_INVALID_CERTIFICATE', /NUL/)
    expectFormatError(() => new SshReader(Buffer.from([0, 0, 0, 3, 0x61, 0x2c, 0x2c]), 'ERR_INVALID_KEY', 't').nameList(), 'ERR_INVALID_KEY', /empty name/)
    expectFormatError(() => new SshReader(Buffer.from([0, 0, 0]), 'ERR_INVALID_KEY', 't').uint32(), 'ERR_INVALID_KEY', /truncated/)
  })
})

// --- helpers: PEM bodies and SSHSIG (PROTOCOL.sshsig) as a real-tool oracle for signature blobs ---

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.split('\n').filter((line) => line && !line.startsWith('-----')).join(''), 'base64')
}

function toPem(bytes: Buffer): string {
  const body = bytes.toString('base64').match(/.{1,70}/g) ?? []
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`
}

/** Offset of the two checkints in an openssh-key-v1 body. */
function checkintOffset(bytes: Buffer): number {
  const reader = new SshReader(bytes, 'ERR_INVALID_KEY', 'test')
  reader.bytes(15)
  reader.string()
  reader.string()
  reader.string()
  reader.uint32()
  reader.string()
  reader.uint32()
  return reader.position
}

async function keygenWithPassphrase(name: string): Promise<[string]> {
  const path = join(dir, name)
  const result = await runSshKeygen(['-q', '-t', 'ed25519', '-N', 'secret passphrase', '-f', path])
  expect(result.code, result.stderr).toBe(0)
  return [readFileSync(path, 'utf8')]
}

function sshsigSignedData(message: Buffer, namespace: string): Buffer {
  const hash = createHash('sha512').update(message).digest()
  return new SshWriter().raw(Buffer.from('SSHSIG')).string(namespace).string('').string('sha512').string(hash).toBuffer()
}

function sshsigArmor(pair: SshKeyPair, message: Buffer, namespace: string): string {
  const signature = signData(pair, sshsigSignedData(message, namespace))
  const blob = new SshWriter().raw(Buffer.from('SSHSIG')).uint32(1).string(pair.publicKey.blob).string(namespace).string('').string('sha512').string(signature)
  const body = blob.toBuffer().toString('base64').match(/.{1,70}/g) ?? []
  return `-----BEGIN SSH SIGNATURE-----\n${body.join('\n')}\n-----END SSH SIGNATURE-----\n`
}

function readSshsig(armored: string, message: Buffer): { signedData: Buffer; signature: Buffer } {
  const bytes = Buffer.from(armored.split('\n').filter((line) => line && !line.startsWith('-----')).join(''), 'base64')
  const reader = new SshReader(bytes, 'ERR_INVALID_KEY', 'sshsig')
  expect(reader.bytes(6).toString()).toBe('SSHSIG')
  expect(reader.uint32()).toBe(1)
  reader.string()
  const namespace = reader.text()
  reader.string()
  expect(reader.text()).toBe('sha512')
  const signature = reader.string()
  return { signedData: sshsigSignedData(message, namespace), signature }
}
