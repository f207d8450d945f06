// What the client accepts from the server (issue 18: the CLI never blindly trusts a server's answer). Each
// answer has a name for messages, the most the client reads of it (past that the read stops), and a reader
// that checks every field the client uses (shape, type, size, range) and returns only those. A failure is one
// line that names the answer, the field and what was expected, in the spirit of the server's ConfigNode:
// `the server sent an invalid discovery document: jitssh.user_ca_public_key: expected one OpenSSH public key line (got a number)`.
// It never quotes the value: that is the server's text, of any size, with anything in it.
import { JitsshError } from '../shared/errors.js'
import { CLIENT_ID, type ServiceTokenResponse, type TokenResponse, type WhoAmI } from '../shared/protocol.js'
import { formatPublicKey, parsePublicKey } from '../ssh/keys.js'
import { checkEndpoint } from './auth/server-url.js'

export interface AnswerLimit {
  /** What the answer is, as messages name it: `discovery document`, `token response`, ... */
  what: string
  /** The most the client reads of its body. */
  maxBytes: number
}

/** An answer: its limit, and how to read a parsed body (undefined for an empty one) into what the client uses. */
export interface Answer<T> extends AnswerLimit {
  read(value: unknown): T
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
  recording: { what: 'recording', maxBytes: 256 * MiB },
} as const satisfies Record<string, AnswerLimit>

/** `64 KiB`, `4 MiB`. */
export function formatBytes(bytes: number): string {
  return bytes >= MiB && bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${Math.ceil(bytes / KiB)} KiB`
}

/** `the server sent an invalid <what>: <problem>`, one line (problems are ours: never text from the server). */
export function invalidAnswer(answer: Pick<AnswerLimit, 'what'>, problem: string): JitsshError {
  return new JitsshError('ERR_SERVER', `the server sent an invalid ${answer.what}: ${problem}`, { hint: 'check the --server URL, or tell its admin' })
}

/** Lengths: a URL, a name or email shown to a person, a token, an id. */
const MAX_URL = 2048
const MAX_TEXT = 1024
const MAX_ID = 256
/** Tokens go into an Authorization header or a form: visible ASCII only. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** A value inside one answer with its path (`jitssh.sign_endpoint`, `events[3].time`). */
export class AnswerNode {
  constructor(
    readonly answer: Pick<AnswerLimit, 'what'>,
    readonly value: unknown,
    readonly path = '',
  ) {}

  fail(expected: string, got = describe(this.value)): never {
    throw invalidAnswer(this.answer, `${this.path ? `${this.path}: ` : ''}expected ${expected} (got ${got})`)
  }

  get missing(): boolean {
    return this.value === undefined || this.value === null
  }

  child(key: string): AnswerNode {
    return new AnswerNode(this.answer, this.object()[key], this.path ? `${this.path}.${key}` : key)
  }

  object(): Record<string, unknown> {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value)) this.fail('an object')
    return this.value as Record<string, unknown>
  }

  string(options: { max: number; pattern?: RegExp; expected?: string }): string {
    if (typeof this.value !== 'string') this.fail('a string')
    if (this.value.length > options.max) this.fail(`a string of at most ${options.max} characters`, `${this.value.length} characters`)
    if (options.pattern !== undefined && !options.pattern.test(this.value)) this.fail(options.expected ?? 'a string of another form', 'something else')
    return this.value
  }

  optionalString(options: { max: number; pattern?: RegExp; expected?: string }, fallback: string): string {
    return this.missing || this.value === '' ? fallback : this.string(options)
  }

  /** A string, or null when missing. */
  nullableString(max = MAX_TEXT): string | null {
    return this.missing ? null : this.string({ max })
  }

  /** A time, or null when missing. */
  nullableTime(): string | null {
    return this.missing ? null : this.time()
  }

  number(min: number, max: number, options: { integer?: boolean } = {}): number {
    const ok = typeof this.value === 'number' && Number.isFinite(this.value) && (options.integer !== true || Number.isInteger(this.value))
    if (!ok || (this.value as number) < min || (this.value as number) > max) {
      this.fail(`a${options.integer === true ? ' whole' : ''} number from ${min} to ${max}`)
    }
    return this.value as number
  }

  /** A number of the right type, brought into [min, max]: a server's wish we may moderate. */
  clamped(fallback: number, min: number, max: number): number {
    if (this.missing) return fallback
    if (typeof this.value !== 'number' || !Number.isFinite(this.value)) this.fail('a number')
    return Math.min(max, Math.max(min, this.value))
  }

  boolean(fallback?: boolean): boolean {
    if (this.missing && fallback !== undefined) return fallback
    if (typeof this.value !== 'boolean') this.fail('true or false')
    return this.value
  }

  /** An ISO 8601 time with a zone, as the server writes them (new Date().toISOString()). */
  time(): string {
    const text = typeof this.value === 'string' && this.value.length <= 64 ? this.value : undefined
    const ms = text !== undefined && DATE_TIME.test(text) ? Date.parse(text) : Number.NaN
    if (!Number.isFinite(ms) || ms < 0 || ms >= Date.UTC(10000, 0, 1)) this.fail('a time in ISO 8601')
    return text as string
  }

  list(max: number): AnswerNode[] {
    if (!Array.isArray(this.value)) this.fail('a list')
    if (this.value.length > max) this.fail(`a list of at most ${max}`, `${this.value.length}`)
    return this.value.map((item, index) => new AnswerNode(this.answer, item, `${this.path}[${index}]`))
  }

  /** A token, code or cursor: visible ASCII only (it goes into a header, a form or a query), at most `max`. */
  token(max: number, what = 'a token'): string {
    return this.string({ max, pattern: VISIBLE_ASCII, expected: `${what} of visible ASCII characters` })
  }

  /** An endpoint URL, with the rules of checkEndpoint: https or wss, plain http or ws on loopback only. */
  endpoint(server: string): string {
    const text = this.string({ max: MAX_URL })
    try {
      return checkEndpoint(server, text, this.path)
    } catch {
      return this.fail('an https URL (http only on loopback)', 'something else')
    }
  }

  /** An endpoint, or `fallback` when missing or empty. */
  optionalEndpoint<F extends string | null>(server: string, fallback: F): string | F {
    return this.missing || this.value === '' ? fallback : this.endpoint(server)
  }

  /** One OpenSSH public key line (a CA's): kept as `type base64` and its comment when that is plain. */
  publicKeyLine(): string {
    if (typeof this.value !== 'string') this.fail('one OpenSSH public key line')
    try {
      const key = parsePublicKey(this.value, { allowRsa: true })
      return formatPublicKey(key, /^[\x21-\x7e]{1,100}$/.test(key.comment) ? key.comment : '')
    } catch {
      return this.fail('one OpenSSH public key line', 'something else')
    }
  }
}

/** What the client keeps of the discovery document: the fields it uses, each checked. */
export interface Discovery {
  /** '' when the server names none. */
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  device_authorization_endpoint: string
  revocation_endpoint: string
  userinfo_endpoint: string
  jitssh: {
    client_id: string
    sign_endpoint: string
    tunnel_endpoint: string
    admin_endpoint: string
    user_ca_public_key: string
    host_ca_public_key: string
  }
}

export function readDiscovery(server: string, value: unknown): Discovery {
  const doc = new AnswerNode(ANSWER_LIMITS.discovery, value)
  const jitssh = doc.child('jitssh')
  return {
    issuer: doc.child('issuer').optionalString({ max: MAX_URL, pattern: VISIBLE_ASCII, expected: 'a URL' }, ''),
    authorization_endpoint: doc.child('authorization_endpoint').endpoint(server),
    token_endpoint: doc.child('token_endpoint').endpoint(server),
    device_authorization_endpoint: doc.child('device_authorization_endpoint').endpoint(server),
    revocation_endpoint: doc.child('revocation_endpoint').endpoint(server),
    userinfo_endpoint: doc.child('userinfo_endpoint').optionalEndpoint(server, `${server}/v1/me`),
    jitssh: {
      client_id: jitssh.child('client_id').optionalString({ max: MAX_ID, pattern: VISIBLE_ASCII, expected: 'a client id of visible ASCII characters' }, CLIENT_ID),
      sign_endpoint: jitssh.child('sign_endpoint').endpoint(server),
      tunnel_endpoint: jitssh.child('tunnel_endpoint').endpoint(server),
      admin_endpoint: jitssh.child('admin_endpoint').optionalEndpoint(server, `${server}/v1/admin`),
      user_ca_public_key: jitssh.child('user_ca_public_key').publicKeyLine(),
      host_ca_public_key: jitssh.child('host_ca_public_key').publicKeyLine(),
    },
  }
}

/** Token lifetimes the client believes: the server's own limit for access tokens is an hour. */
const MAX_TOKEN_SECONDS = 86_400

export const TOKEN_ANSWER: Answer<TokenResponse> = {
  ...ANSWER_LIMITS.token,
  read: (value) => {
    const node = new AnswerNode(ANSWER_LIMITS.token, value)
    const expiresIn = node.child('expires_in')
    return {
      access_token: node.child('access_token').token(16 * KiB),
      token_type: 'Bearer',
      // RFC 6749 5.1 makes it optional: without it the token is refreshed before its next use.
      expires_in: expiresIn.missing ? 0 : expiresIn.number(0, MAX_TOKEN_SECONDS, { integer: true }),
      refresh_token: node.child('refresh_token').token(4 * KiB),
      session_expires_at: node.child('session_expires_at').time(),
    }
  },
}

export interface DeviceAuthorization {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string | null
  /** Seconds, within [1, 1800] (the server allows at most 30 minutes). */
  expires_in: number
  /** Seconds between polls, within [1, 60]: a server's 1e9 would otherwise overflow the timer (every ms). */
  interval: number
}

export function deviceAuthorizationAnswer(server: string): Answer<DeviceAuthorization> {
  return {
    ...ANSWER_LIMITS.deviceAuthorization,
    read: (value) => {
      const node = new AnswerNode(ANSWER_LIMITS.deviceAuthorization, value)
      return {
        device_code: node.child('device_code').token(4 * KiB, 'a code'),
        user_code: node.child('user_code').string({ max: 32, pattern: /^[A-Za-z0-9]+(?:[- ][A-Za-z0-9]+)*$/, expected: 'a code of letters, digits and dashes' }),
        verification_uri: node.child('verification_uri').endpoint(server),
        verification_uri_complete: node.child('verification_uri_complete').optionalEndpoint(server, null),
        expires_in: node.child('expires_in').clamped(600, 1, 1800),
        interval: node.child('interval').clamped(5, 1, 60),
      }
    },
  }
}

export const SIGN_ANSWER: Answer<{ certificate: string }> = {
  ...ANSWER_LIMITS.sign,
  read: (value) => ({ certificate: new AnswerNode(ANSWER_LIMITS.sign, value).child('certificate').string({ max: ANSWER_LIMITS.sign.maxBytes }) }),
}

export const IDENTITY_ANSWER: Answer<WhoAmI> = {
  ...ANSWER_LIMITS.identity,
  read: (value) => {
    const node = new AnswerNode(ANSWER_LIMITS.identity, value)
    const name = node.child('name')
    const groups = node.child('groups')
    const expires = node.child('session_expires_at')
    return {
      sub: node.child('sub').string({ max: MAX_TEXT, pattern: /./, expected: 'a subject' }),
      email: node.child('email').optionalString({ max: MAX_TEXT }, ''),
      ...(name.missing ? {} : { name: name.string({ max: MAX_TEXT }) }),
      groups: groups.missing ? [] : groups.list(1000).map((group) => group.string({ max: MAX_TEXT })),
      session_id: node.child('session_id').optionalString({ max: MAX_ID }, ''),
      session_expires_at: expires.missing ? '' : expires.time(),
      admin: node.child('admin').boolean(false),
      ...(node.child('server_time').missing ? {} : { server_time: node.child('server_time').time() }),
    }
  },
}

/** A service account's token (token exchange, client credentials): an access token and no refresh token. */
export const SERVICE_TOKEN_ANSWER: Answer<ServiceTokenResponse> = {
  ...ANSWER_LIMITS.token,
  read: (value) => {
    const node = new AnswerNode(ANSWER_LIMITS.token, value)
    const issued = node.child('issued_token_type')
    return {
      access_token: node.child('access_token').token(16 * KiB),
      token_type: 'Bearer',
      expires_in: node.child('expires_in').number(0, MAX_TOKEN_SECONDS, { integer: true }),
      ...(issued.missing ? {} : { issued_token_type: issued.string({ max: MAX_URL }) }),
      session_expires_at: node.child('session_expires_at').time(),
    }
  },
}

/** A CI runner's answer with a fresh ID token (GitHub Actions: `{"value": "<jwt>"}`). */
export const ID_TOKEN_ANSWER: Answer<string> = {
  what: 'ID token answer',
  maxBytes: 64 * KiB,
  read: (value) => new AnswerNode({ what: 'ID token answer' }, value).child('value').string({ max: 32 * KiB, pattern: /^[\w-]+\.[\w-]+\.[\w-]+$/, expected: 'a JWT' }),
}

/** Whatever the revocation endpoint says in a 2xx (RFC 7009: nothing) means done. */
export const REVOCATION_ANSWER: Answer<void> = { ...ANSWER_LIMITS.revocation, read: () => undefined }

/**
 * An answer that is checked (`check` throws on the first bad field) and then returned as the server sent
 * it, for commands whose `--json` prints it whole.
 */
export function checkedAnswer<T>(limit: Omit<Answer<T>, 'read'>, check: (node: AnswerNode) => void): Answer<T> {
  return {
    ...limit,
    read: (value) => {
      check(new AnswerNode(limit, value))
      return value as T
    },
  }
}

export { MAX_ID, MAX_TEXT }
