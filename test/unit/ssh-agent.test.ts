// The browser terminal's in-process ssh-agent (src/ssh/agent-protocol.ts, src/server/terminal/ssh-agent.ts)
// against OpenSSH's own agent clients as the oracle: ssh-add lists its identity, ssh-keygen -Y signs with it
// and the signature verifies; its socket is 0600; anything else is answered FAILURE.
import { once } from 'node:events'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AGENT_MESSAGE, answerAgentMessage, splitAgentMessages } from '../../src/ssh/agent-protocol.js'
import { formatPublicKey, generateKeyPair } from '../../src/ssh/keys.js'
import { signSshData } from '../../src/ssh/ssh-signature.js'
import { startAgent, type RunningAgent } from '../../src/server/terminal/ssh-agent.js'
import { runTool, SSH_KEYGEN_PATH } from '../helpers/sshd.js'

const key = generateKeyPair('ssh-ed25519')
const identity = { blob: key.publicKey.blob, comment: 'jitssh-web:test', sign: (data: Buffer) => signSshData(key.type, key.privateKey, data) }
let dir: string
let agent: RunningAgent

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jitssh-agent-'))
  agent = await startAgent(join(dir, 'agent.sock'), identity)
})
afterAll(async () => {
  await agent?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the in-process ssh-agent', () => {
  it('listens on a 0600 socket', () => {
    expect(statSync(agent.socketPath).mode & 0o777).toBe(0o600)
  })

  it('ssh-add -L lists its one identity', async () => {
    const listed = await runTool('/usr/bin/ssh-add', ['-L'], { env: { SSH_AUTH_SOCK: agent.socketPath } })
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout.trim()).toBe(formatPublicKey(key.publicKey, 'jitssh-web:test'))
  })

  it('signs for ssh-keygen -Y sign, and the signature verifies', async () => {
    const publicKeyFile = join(dir, 'key.pub')
    const message = join(dir, 'message')
    writeFileSync(publicKeyFile, `${formatPublicKey(key.publicKey)}\n`)
    writeFileSync(message, 'signed through the agent\n')
    const signed = await runTool(SSH_KEYGEN_PATH, ['-Y', 'sign', '-f', publicKeyFile, '-n', 'jitssh-test', message], { env: { SSH_AUTH_SOCK: agent.socketPath } })
    expect(signed.code, signed.stderr).toBe(0)
    const checked = await runTool(SSH_KEYGEN_PATH, ['-Y', 'check-novalidate', '-n', 'jitssh-test', '-f', publicKeyFile, '-s', `${message}.sig`], { input: 'signed through the agent\n' })
    expect(checked.code, checked.stderr).toBe(0)
    expect(checked.stdout).toMatch(/Good "jitssh-test" signature/)
  })

  it('answers FAILURE to other requests (adding keys, signing with a key it does not hold) and drops oversized messages', async () => {
    const frame = (body: number[]) => Buffer.concat([Buffer.from([0, 0, 0, body.length]), Buffer.from(body)])
    expect(answerAgentMessage(Buffer.from([17]), [identity])).toEqual(frame([AGENT_MESSAGE.FAILURE])) // ADD_IDENTITY
    const other = generateKeyPair('ssh-ed25519').publicKey.blob
    const request = Buffer.concat([Buffer.from([AGENT_MESSAGE.SIGN_REQUEST]), u32(other.length), other, u32(4), Buffer.from('data'), u32(0)])
    expect(answerAgentMessage(request, [identity])).toEqual(frame([AGENT_MESSAGE.FAILURE]))
    expect(() => splitAgentMessages(u32(1024 * 1024))).toThrow(/agent message of 1048576 bytes/)
    const { messages, rest } = splitAgentMessages(Buffer.concat([frame([11]), u32(5), Buffer.from([13])]))
    expect(messages.map((message) => [...message])).toEqual([[11]])
    expect(rest.length).toBe(5)

    const socket = connect(agent.socketPath)
    await once(socket, 'connect')
    socket.write(u32(1024 * 1024))
    await once(socket, 'close')
  })
})

function u32(value: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value)
  return out
}
