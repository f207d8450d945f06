// ssh-gen's slow path: under a per-host single-flight lock, get an access token (refresh, or log in when
// allowed), make a new Ed25519 key, have the server sign it, check the result and write key + certificate.
import { join } from 'node:path'
import { JitsshError } from '../shared/errors.js'
import { parseCertificate, type SshCertificate } from '../ssh/certificate.js'
import { encodePrivateKey, formatPublicKey, generateKeyPair, type SshKeyPair } from '../ssh/keys.js'
import { certificateIsFresh } from './files/cert-freshness.js'
import { writeKeyAndCertificate } from './files/cert-store.js'
import type { ClientContext } from './context.js'
import { getDiscovery } from './auth/discovery.js'
import { ensurePrivateDir } from './files/atomic-files.js'
import { HttpStatusError, requestJson, serverMessage } from './http.js'
import { SIGN_ANSWER, type Discovery } from './server-answers.js'
import { acquireLock } from './files/lock.js'
import { performLogin, type LoginOptions, type LoginUi } from './auth/login.js'
import type { JitsshPaths } from './files/paths.js'
import { parseJitsshEnv } from './env.js'
import { withAccessToken } from './auth/tokens.js'

/** A holder of a host lock may be logging in (up to 5 minutes): only older locks are abandoned. */
const HOST_LOCK_STALE_MS = 10 * 60_000

export type IssueOutcome = 'fresh' | 'reused' | 'issued'

export interface IssueOptions {
  ui: LoginUi
  /** null: never log in; an ended session fails with ERR_SESSION_REVOKED instead (no session at all: ERR_NOT_LOGGED_IN). */
  login: LoginOptions | null
  /** A certificate lifetime to ask for (seconds); the policy's max_ttl caps it. Default: the rule's maximum. */
  ttlSeconds?: number
  /** A new certificate even when the one on disk is fresh (the policy may grant other logins now). */
  force?: boolean
}

export async function ensureCertificate(ctx: ClientContext, paths: JitsshPaths, server: string, host: string, options: IssueOptions): Promise<IssueOutcome> {
  const margin = parseJitsshEnv(ctx.env).certMarginSeconds
  const fresh = () => options.force !== true && certificateIsFresh(paths, host, ctx.now(), margin)
  if (fresh()) return 'fresh'
  await ensurePrivateDir(paths.home)
  await ensurePrivateDir(paths.locks)
  const lock = await acquireLock(join(paths.locks, `host-${host}.lock`), {
    now: ctx.now, sleep: ctx.sleep, signal: ctx.signal, staleMs: HOST_LOCK_STALE_MS, timeoutMs: HOST_LOCK_STALE_MS + 60_000,
  })
  try {
    // Whoever held the lock before us may have just written a certificate: reuse it.
    if (fresh()) return 'reused'
    const loginOptions = options.login
    const login = loginOptions === null ? undefined : { ui: options.ui, perform: () => performLogin(ctx, paths, server, options.ui, loginOptions) }
    const sign = () => withAccessToken(ctx, paths, server, { ...(login ? { login } : {}), warn: options.ui.warn }, async (token) => {
      // Read after the token: without a session, "not logged in" comes before any request.
      const discovery = await getDiscovery(ctx, paths, server)
      return { discovery, signed: await signNewKey(ctx, discovery, host, token, options.ttlSeconds) }
    })
    let answer: Awaited<ReturnType<typeof sign>>
    try {
      answer = await sign()
    } catch (error) {
      // A rule wants a fresher sign-in (max_auth_age, amr, acr): sign in afresh, once, when someone is there to.
      if (!(error instanceof JitsshError && error.code === 'ERR_STEP_UP_REQUIRED') || loginOptions === null || !ctx.isTTY) throw error
      options.ui.info(`${error.message}; signing in again.`)
      await performLogin(ctx, paths, server, options.ui, { ...loginOptions, fresh: true })
      answer = await sign()
    }
    const { discovery, signed } = answer
    if (!signedByUserCa(signed.certificate, discovery)) {
      // Perhaps the server rotated its CA since we cached its discovery document: ask once more.
      const fresh = await getDiscovery(ctx, paths, server, { fresh: true })
      if (!signedByUserCa(signed.certificate, fresh)) {
        throw new JitsshError('ERR_INVALID_CERTIFICATE', `the certificate for ${host} is not a user certificate from ${server}'s user CA`)
      }
    }
    if (Number(signed.certificate.validBefore) * 1000 <= ctx.now()) {
      throw new JitsshError('ERR_INVALID_CERTIFICATE', `the server issued a certificate for ${host} that has already expired`, { hint: 'check this machine\'s clock' })
    }
    const line = signed.certificate.line.trim().split(/\s+/).slice(0, 2).join(' ')
    await writeKeyAndCertificate(paths, host, signed.privateKey, `${line} jitssh:${host}`)
    return 'issued'
  } finally {
    await lock.release()
  }
}

async function signNewKey(ctx: ClientContext, discovery: Discovery, host: string, token: string, ttlSeconds: number | undefined) {
  const pair = generateKeyPair('ssh-ed25519', `jitssh:${host}`)
  const { response, certificate } = await signKey(ctx, discovery, host, token, pair, ttlSeconds)
  return { response, certificate, privateKey: encodePrivateKey(pair, `jitssh:${host}`) }
}

/** Has the server sign `pair`'s public key for `host`; the answer checked: a user certificate for that key. */
export async function signKey(ctx: ClientContext, discovery: Discovery, host: string, token: string, pair: SshKeyPair, ttlSeconds?: number): Promise<{ response: { certificate: string }; certificate: SshCertificate }> {
  let response: { certificate: string }
  try {
    response = await requestJson(ctx, discovery.jitssh.sign_endpoint, {
      answer: SIGN_ANSWER,
      bearer: token,
      json: { public_key: formatPublicKey(pair.publicKey, `jitssh:${host}`), hostname: host, ...(ttlSeconds !== undefined ? { ttl_seconds: ttlSeconds } : {}) },
    })
  } catch (error) {
    if (error instanceof HttpStatusError && error.status === 403) {
      const hint = error.code === 'ERR_STEP_UP_REQUIRED' ? 'run: jitssh login --force' : (requestHint(error.body.hint) ?? `see: jitssh explain ${host}`)
      throw new JitsshError(error.code, `access to ${host} denied: ${serverMessage(error.body) || 'denied by policy'}`, { cause: error, hint })
    }
    throw error
  }
  let certificate: SshCertificate
  try {
    certificate = parseCertificate(response.certificate)
  } catch (error) {
    throw new JitsshError('ERR_INVALID_CERTIFICATE', `the server sent an invalid certificate for ${host}`, { cause: error })
  }
  if (!certificate.publicKey.blob.equals(pair.publicKey.blob)) {
    throw new JitsshError('ERR_INVALID_CERTIFICATE', `the server's certificate for ${host} is for a different key`)
  }
  if (certificate.type !== 'user') throw new JitsshError('ERR_INVALID_CERTIFICATE', `the server sent a ${certificate.type} certificate for ${host}, not a user certificate`)
  return { response, certificate }
}

export function signedByUserCa(certificate: SshCertificate, discovery: Discovery): boolean {
  const caBase64 = discovery.jitssh.user_ca_public_key.trim().split(/\s+/)[1]
  return certificate.signatureKey.blob.toString('base64') === caBase64
}

/**
 * The server's `ask: jitssh request ...` hint, when it is exactly such a command (a host, a login, a duration
 * and an optional quoted reason prompt): it is printed to a terminal, so nothing else from the server is.
 */
export function requestHint(hint: unknown): string | undefined {
  if (typeof hint !== 'string' || hint.length > 400) return undefined
  const command = /^ask: jitssh request (create|break-glass) --host [a-z0-9.*?-]+ --login [a-z0-9_.|<>-]+ --duration [0-9]+[mh](?: --reason "[^"\\$`\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*")?$/
  return command.test(hint) ? hint : undefined
}
