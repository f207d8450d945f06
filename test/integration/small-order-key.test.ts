// Ed25519 "public keys" nobody holds (issue 11). A point of small order verifies a constant signature for
// every message, so a certificate for it logs in with no private key at all: shown here against a real sshd
// with a key-less ssh-agent that answers every signature request with the same bytes. jitssh-server refuses
// to certify any of the eight small-order points (and non-canonical encodings), so it never issues one.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair, parsePublicKey, signData } from '../../src/ssh/keys.js'
import { SshWriter } from '../../src/ssh/wire.js'
import { signFor } from '../helpers/admin.js'
import { loginWithPassword, startTestServer, type TestServer } from '../helpers/server.js'
import { runTool, SSH_PATH, startSshd, type RunningSshd } from '../helpers/sshd.js'

const P = (1n << 255n) - 19n
const le = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, '0'), 'hex').reverse()
const Y8 = '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'
const Y8B = 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'
const withSign = (hex: string): string => `${hex.slice(0, 62)}${(parseInt(hex.slice(62), 16) | 0x80).toString(16)}`

/** The eight small-order points (canonical encodings), and encodings no canonical decoder accepts. */
const SMALL_ORDER = {
  'the identity (order 1)': le(1n).toString('hex'),
  'order 2': le(P - 1n).toString('hex'),
  'order 4, x > 0': le(0n).toString('hex'),
  'order 4, x < 0': withSign(le(0n).toString('hex')),
  'order 8 (a)': Y8,
  'order 8 (b)': withSign(Y8),
  'order 8 (c)': Y8B,
  'order 8 (d)': withSign(Y8B),
}
const NON_CANONICAL = {
  'y = p (0 again)': le(P).toString('hex'),
  'y = p + 1 (the identity again)': le(P + 1n).toString('hex'),
  'y = 2^255 - 1': le((1n << 255n) - 1n).toString('hex'),
  'the identity with the sign bit set': withSign(le(1n).toString('hex')),
}

const keyLine = (pointHex: string): string => `ssh-ed25519 ${new SshWriter().string('ssh-ed25519').string(Buffer.from(pointHex, 'hex')).toBuffer().toString('base64')}`

let dir: string
let sshd: RunningSshd
let srv: TestServer
const ca = generateKeyPair('ssh-ed25519', 'ca')

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-small-order-'))
  sshd = await startSshd({ trustedUserCaKeys: `ssh-ed25519 ${ca.publicKey.blob.toString('base64')}` })
  srv = await startTestServer({ policy: [{ name: 'all', groups: ['dev'], hosts: ['*.example.com'], principals: ['{email_local}'] }] })
})
afterAll(async () => {
  await Promise.allSettled([sshd?.stop(), srv?.stop()])
  rmSync(dir, { recursive: true, force: true })
})

/** A user certificate for the identity point, as a CA that did not check would sign it (built by hand). */
function certificateForIdentityPoint(principal: string): Buffer {
  const now = BigInt(Math.floor(Date.now() / 1000))
  const body = new SshWriter()
    .string('ssh-ed25519-cert-v01@openssh.com').string(randomBytes(32)).string(le(1n))
    .uint64(7n).uint32(1).string('small-order').string(new SshWriter().string(principal).toBuffer())
    .uint64(now - 60n).uint64(now + 600n).string('').string(new SshWriter().string('permit-pty').string('').toBuffer()).string('')
    .string(ca.publicKey.blob)
    .toBuffer()
  return new SshWriter().raw(body).string(signData(ca, body)).toBuffer()
}

/** An ssh-agent (PROTOCOL.agent) that holds no key: it lists `certificate` and "signs" with a constant. */
function keylessAgent(certificate: Buffer, path: string): Promise<Server> {
  const constantSignature = new SshWriter().string('ssh-ed25519').string(Buffer.concat([le(1n), Buffer.alloc(32)])).toBuffer()
  const reply = (socket: Socket, payload: Buffer): void => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(payload.length)
    socket.write(Buffer.concat([length, payload]))
  }
  const server = createServer((socket) => {
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        const type = buffered[4]
        buffered = buffered.subarray(4 + buffered.readUInt32BE(0))
        if (type === 11) reply(socket, Buffer.concat([Buffer.from([12]), new SshWriter().uint32(1).string(certificate).string('no key').toBuffer()]))
        else if (type === 13) reply(socket, Buffer.concat([Buffer.from([14]), new SshWriter().string(constantSignature).toBuffer()]))
        else reply(socket, Buffer.from([5]))
      }
    })
  })
  return new Promise((resolve) => server.listen(path, () => resolve(server)))
}

describe('Ed25519 points of small order', () => {
  it('are dangerous: a certificate for the identity point logs in to a real sshd with no private key', async () => {
    const agent = await keylessAgent(certificateForIdentityPoint(sshd.user), join(dir, 'agent.sock'))
    try {
      const result = await runTool(SSH_PATH, [
        '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', `IdentityAgent=${join(dir, 'agent.sock')}`, '-p', String(sshd.port), '-l', sshd.user, sshd.host, 'echo', 'logged-in-without-a-key',
      ])
      expect(result.stdout.trim(), result.stderr).toBe('logged-in-without-a-key')
    } finally {
      agent.close()
    }
  })

  it('are never certified: the sign endpoint refuses each of the eight, and non-canonical encodings', async () => {
    const alice = await loginWithPassword(srv.url, 'alice')
    for (const [name, point] of Object.entries({ ...SMALL_ORDER, ...NON_CANONICAL })) {
      const response = await fetch(`${srv.url}/v1/ssh/sign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ public_key: keyLine(point), hostname: 'vm.example.com' }),
      })
      const body = (await response.json()) as { error: string; message: string }
      expect([name, response.status, body.error]).toEqual([name, 400, 'ERR_INVALID_KEY'])
      expect(body.message).toMatch(/small order|not canonically encoded/)
    }
    expect(await srv.server.store.certificates.list({ sessionId: alice.session_id })).toEqual([])
    expect((await signFor(srv.url, alice.access_token, 'vm.example.com')).status).toBe(200) // real keys still are
  })

  it('are refused by the key parser with the reason, wherever a key is read', () => {
    for (const point of Object.values(SMALL_ORDER)) expect(() => parsePublicKey(keyLine(point))).toThrow(/small order/)
    for (const point of Object.values(NON_CANONICAL)) expect(() => parsePublicKey(keyLine(point))).toThrow(/small order|not canonically encoded/)
  })
})
