// The ssh-agent protocol (draft-miller-ssh-agent, OpenSSH PROTOCOL.agent), the two requests a client needs to
// authenticate with a key the agent holds: list the identities, sign with one. Everything else is answered
// with FAILURE. Bytes in, bytes out: the socket belongs to the caller.
import { SshReader, SshWriter } from './wire.js'

export const AGENT_MESSAGE = {
  FAILURE: 5,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
} as const

/** OpenSSH's own limit on one agent message (AGENT_MAX_LEN). */
export const AGENT_MAX_MESSAGE = 256 * 1024

export interface AgentIdentity {
  /** The public key or certificate blob the agent offers (and that a SIGN_REQUEST names). */
  blob: Buffer
  comment: string
  /** An SSH signature blob (`string algorithm, string signature`) over `data`. */
  sign(data: Buffer): Buffer
}

/**
 * Splits the bytes read so far into whole messages (without their length prefix) and the incomplete rest.
 * Throws on a message longer than AGENT_MAX_MESSAGE (the caller drops the connection).
 */
export function splitAgentMessages(buffered: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = []
  let offset = 0
  while (buffered.length - offset >= 4) {
    const length = buffered.readUInt32BE(offset)
    if (length === 0 || length > AGENT_MAX_MESSAGE) throw new Error(`agent message of ${length} bytes`)
    if (buffered.length - offset - 4 < length) break
    messages.push(buffered.subarray(offset + 4, offset + 4 + length))
    offset += 4 + length
  }
  return { messages, rest: buffered.subarray(offset) }
}

/** The framed answer to one message (length prefix included). */
export function answerAgentMessage(message: Buffer, identities: readonly AgentIdentity[]): Buffer {
  let body: Buffer
  try {
    body = answer(message, identities)
  } catch {
    body = Buffer.from([AGENT_MESSAGE.FAILURE])
  }
  return new SshWriter().uint32(body.length).raw(body).toBuffer()
}

function answer(message: Buffer, identities: readonly AgentIdentity[]): Buffer {
  const reader = new SshReader(message, 'ERR_INVALID_KEY', 'agent message')
  const type = reader.uint8('message type')
  if (type === AGENT_MESSAGE.REQUEST_IDENTITIES) {
    const out = new SshWriter().uint8(AGENT_MESSAGE.IDENTITIES_ANSWER).uint32(identities.length)
    for (const identity of identities) out.string(identity.blob).string(identity.comment)
    return out.toBuffer()
  }
  if (type === AGENT_MESSAGE.SIGN_REQUEST) {
    const blob = reader.string('key blob')
    const data = reader.string('data')
    reader.uint32('flags')
    reader.end()
    const identity = identities.find((candidate) => candidate.blob.equals(blob))
    if (identity) return new SshWriter().uint8(AGENT_MESSAGE.SIGN_RESPONSE).string(identity.sign(data)).toBuffer()
  }
  return Buffer.from([AGENT_MESSAGE.FAILURE])
}
