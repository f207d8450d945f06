// What the client accepts from the server (issue 18: the CLI never blindly trusts a server's answer).
// Each answer has a name for messages and the most the client reads of it: past that the read stops and the
// request fails with `the server sent an invalid <what>: more than <limit>`.
import { JitsshError } from '../shared/errors.js'

export interface AnswerLimit {
  /** What the answer is, as messages name it: `discovery document`, `token response`, ... */
  what: string
  /** The most the client reads of its body. */
  maxBytes: number
}

const KiB = 1024
const MiB = 1024 * KiB

/**
 * Generous for what the real server sends (a discovery document is ~1.5 KiB, a token response with many
 * groups in the JWT a few KiB), and for the admin answers room for the largest the server gives: 10,000
 * sessions, 1,000 audit events with their details.
 */
export const ANSWER_LIMITS = {
  discovery: { what: 'discovery document', maxBytes: 64 * KiB },
  token: { what: 'token response', maxBytes: 64 * KiB },
  deviceAuthorization: { what: 'device authorization', maxBytes: 16 * KiB },
  revocation: { what: 'revocation answer', maxBytes: 16 * KiB },
  sign: { what: 'sign response', maxBytes: 64 * KiB },
  identity: { what: 'identity (/v1/me)', maxBytes: 64 * KiB },
  admin: { what: 'admin answer', maxBytes: 4 * MiB },
  sessionList: { what: 'session list', maxBytes: 32 * MiB },
  auditPage: { what: 'audit page', maxBytes: 32 * MiB },
} as const satisfies Record<string, AnswerLimit>

/** `64 KiB`, `4 MiB`. */
export function formatBytes(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${Math.ceil(bytes / KiB)} KiB`
}

/** `the server sent an invalid <what>: <problem>`, one line (problems are ours: never text from the server). */
export function invalidAnswer(answer: Pick<AnswerLimit, 'what'>, problem: string): JitsshError {
  return new JitsshError('ERR_SERVER', `the server sent an invalid ${answer.what}: ${problem}`, { hint: 'check the --server URL, or tell its admin' })
}
