// The token module: what the token endpoint returns is kept here (storeTokens), the server is chosen here
// (resolveServer), and an access token comes from here, at the least cost (getAccessToken): the cached one
// while it is valid; else a refresh (one at a time per server: refresh tokens are single-use, and reuse
// revokes the session); else, when the session has ended (expired, revoked) and the caller allows it, a new
// login. One rule for an ended session, whoever notices it first (status, the ProxyCommand, ssh-gen, a
// keychain that lost the entry): it is remembered as ended (markSessionEnded), never silently forgotten, so a
// later ssh-gen on a terminal still logs in again. With no session at all (never logged in, or logged out) it
// is ERR_NOT_LOGGED_IN: a logout is not undone by the next ssh. The session lock also makes 50 parallel
// ssh-gen runs cause one login at most.
// withAccessToken is the one place a call is retried with a fresh token after the server refused one.
import { join } from 'node:path'
import { JitsshError } from '../../shared/errors.js'
import type { ServiceTokenResponse, TokenResponse } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { readConfig, updateConfig } from '../files/config-store.js'
import { loadSession, markSessionEnded, readAccessToken, saveSession, writeAccessToken } from './credentials.js'
import { getDiscovery } from './discovery.js'
import { ensurePrivateDir } from '../files/atomic-files.js'
import { removeServerCertificates } from '../files/cert-store.js'
import { acquireLock, type HeldLock } from '../files/lock.js'
import { HttpStatusError, serverMessage } from '../http.js'
// Types only: login.ts keeps its tokens through storeTokens here, so this module must not load it.
import type { LoginUi } from './login.js'
import { authenticateAutomation, describeAutomation, type AutomationLogin } from './automation.js'
import { isSessionGone, refreshTokens } from './oauth.js'
import { accountDisabled } from './refusals.js'
import type { JitsshPaths } from '../files/paths.js'
import { serverId } from './server-url.js'

/** An access token is reused while it has at least this long left. */
const ACCESS_TOKEN_MARGIN_MS = 30_000
/** Longer than the login timeout: a lock held through a login is not stale. */
const SESSION_LOCK_STALE_MS = 10 * 60_000

export interface AccessTokenOptions {
  /**
   * When the session has ended: log in again with `perform` (performLogin for this server), talking through
   * `ui`. Without it (the ProxyCommand, status, admin commands) that is ERR_SESSION_REVOKED.
   */
  login?: { ui: LoginUi; perform(): Promise<unknown> }
  /** A token the server just refused: do not return it again. */
  rejected?: string
  warn?: (message: string) => void
}

export async function lockSession(ctx: ClientContext, paths: JitsshPaths, server: string, onWait?: () => void): Promise<HeldLock> {
  await ensurePrivateDir(paths.home)
  await ensurePrivateDir(paths.locks)
  return acquireLock(join(paths.locks, `session-${serverId(server)}.lock`), {
    now: ctx.now, sleep: ctx.sleep, signal: ctx.signal, staleMs: SESSION_LOCK_STALE_MS, timeoutMs: SESSION_LOCK_STALE_MS,
    ...(onWait ? { onWait } : {}),
  })
}

async function cachedToken(ctx: ClientContext, paths: JitsshPaths, server: string, rejected?: string): Promise<string | null> {
  const cached = await readAccessToken(paths, server)
  if (cached === null || cached.access_token === rejected) return null
  return cached.expires_at - ctx.now() > ACCESS_TOKEN_MARGIN_MS ? cached.access_token : null
}

export async function getAccessToken(ctx: ClientContext, paths: JitsshPaths, server: string, options: AccessTokenOptions = {}): Promise<string> {
  const quick = await cachedToken(ctx, paths, server, options.rejected)
  if (quick !== null) return quick
  const lock = await lockSession(ctx, paths, server, () => options.login?.ui.info('Waiting for another jitssh process to finish logging in...'))
  try {
    // Someone else may have refreshed or logged in while we waited.
    const fresh = await cachedToken(ctx, paths, server, options.rejected)
    if (fresh !== null) return fresh
    const warn = options.warn ?? options.login?.ui.warn ?? (() => undefined)
    const config = await readConfig(paths)
    const record = config.servers[server]
    // A service account: authenticate again, never a browser (there is nobody to use it).
    if (record?.automation !== undefined) return await renewAutomation(ctx, paths, server, record.automation)
    const session = await loadSession(ctx, paths, server, record?.credential_store)
    if (session === null) {
      // A store that was used but no longer has the login (a keychain that forgets, a deleted file): ended too.
      const ended = record?.session_ended ?? (record?.credential_store !== undefined ? { at: new Date(ctx.now()).toISOString(), reason: `the stored login is gone from the ${record.credential_store === 'keychain' ? 'OS keychain' : 'credentials file'}` } : undefined)
      // Never logged in here, or logged out on purpose: say so rather than start a login unasked.
      if (ended === undefined) throw new JitsshError('ERR_NOT_LOGGED_IN', `not logged in to ${server}`, { hint: 'run: jitssh login' })
      if (record?.session_ended === undefined) await markSessionEnded(ctx, paths, server, ended.reason, warn)
      if (options.login === undefined) throw sessionEnded(server, ended.reason)
      options.login.ui.info(`Your session at ${server} has ended (${ended.reason}); logging in again.`)
    } else {
      const discovery = await getDiscovery(ctx, paths, server)
      try {
        const tokens = await refreshTokens(ctx, discovery, session.refresh_token)
        await storeTokens(ctx, paths, server, tokens, { warn })
        return tokens.access_token
      } catch (error) {
        if (!isSessionGone(error)) throw error
        const reason = endReason(error)
        await markSessionEnded(ctx, paths, server, reason, warn)
        // Its certificates ended with it (and may be on the KRL already): none is presented again.
        await removeServerCertificates(paths, discovery.jitssh.user_ca_public_key)
        // A disabled person: a new login would be refused too, so none is offered.
        const disabled = accountDisabled(reason, server)
        if (disabled !== null) throw disabled
        if (options.login === undefined) throw sessionEnded(server, reason, error)
        options.login.ui.info(`Your session at ${server} has ended (${reason}); logging in again.`)
      }
    }
    await options.login.perform()
    const after = await readAccessToken(paths, server)
    if (after === null) throw new JitsshError('ERR_NOT_LOGGED_IN', `not logged in to ${server}`, { hint: 'run: jitssh login' })
    return after.access_token
  } finally {
    await lock.release()
  }
}

/** A new access token of the service account, or one line saying why there is none (ERR_NOT_LOGGED_IN). */
async function renewAutomation(ctx: ClientContext, paths: JitsshPaths, server: string, login: AutomationLogin): Promise<string> {
  try {
    const tokens = await authenticateAutomation(ctx, await getDiscovery(ctx, paths, server), login)
    await storeAutomationToken(ctx, paths, server, tokens)
    return tokens.access_token
  } catch (error) {
    if (error instanceof JitsshError && error.code === 'ERR_INTERRUPTED') throw error
    const why = error instanceof Error ? error.message : String(error)
    throw new JitsshError('ERR_NOT_LOGGED_IN', `cannot renew the login at ${server} with ${describeAutomation(login)}: ${why}`, { cause: error })
  }
}

/** A service account's access token, in the same cache as a person's (it has no refresh token to keep). */
export async function storeAutomationToken(ctx: ClientContext, paths: JitsshPaths, server: string, tokens: ServiceTokenResponse): Promise<void> {
  await writeAccessToken(paths, server, {
    access_token: tokens.access_token,
    expires_at: ctx.now() + Math.max(0, Number(tokens.expires_in) || 0) * 1000,
    session_expires_at: tokens.session_expires_at,
  })
}

/** ERR_SESSION_REVOKED for an ended session: one line, with the fix. */
export function sessionEnded(server: string, reason: string, cause?: unknown): JitsshError {
  return new JitsshError('ERR_SESSION_REVOKED', `your session at ${server} has ended (${reason})`, { hint: 'run: jitssh login', ...(cause !== undefined ? { cause } : {}) })
}

/** Why the server refused the refresh token, in a few words of its own (made terminal-safe), or a generic reason. */
function endReason(error: unknown): string {
  const said = error instanceof HttpStatusError ? serverMessage(error.body) : ''
  return said !== "" ? said.slice(0, 200) : 'the server no longer accepts it'
}

/** The server to use: --server, else the remembered default. */
export async function resolveServer(paths: JitsshPaths, explicit: string | undefined): Promise<string | null> {
  if (explicit !== undefined) return explicit
  return (await readConfig(paths)).default_server ?? null
}

/**
 * `call(token)` with an access token (getAccessToken with `options`); when the server refuses that token
 * (revoked elsewhere, the server restarted with new keys, clock skew), once more with a fresh one, never a
 * third time.
 */
export async function withAccessToken<T>(
  ctx: ClientContext,
  paths: JitsshPaths,
  server: string,
  options: AccessTokenOptions,
  call: (token: string) => Promise<T>,
): Promise<T> {
  const token = await getAccessToken(ctx, paths, server, options)
  try {
    return await call(token)
  } catch (error) {
    if (!tokenRefused(error)) throw error
    return call(await getAccessToken(ctx, paths, server, { ...options, rejected: token }))
  }
}

/** HTTP 401, from a request or from the tunnel's WebSocket upgrade (tunnel/tunnel.ts). */
function tokenRefused(error: unknown): boolean {
  return error instanceof HttpStatusError && error.status === 401
}

/** Keeps a token response: the refresh token in its store, the access token in the cache, which store in config.json. */
export async function storeTokens(ctx: ClientContext, paths: JitsshPaths, server: string, tokens: TokenResponse, ui: Pick<LoginUi, 'warn'>): Promise<void> {
  const sessionExpiresAt = tokens.session_expires_at
  const saved = await saveSession(ctx, paths, server, { refresh_token: tokens.refresh_token, session_expires_at: sessionExpiresAt }, (m) => ui.warn(m))
  await writeAccessToken(paths, server, {
    access_token: tokens.access_token,
    expires_at: ctx.now() + Math.max(0, Number(tokens.expires_in) || 0) * 1000,
    session_expires_at: sessionExpiresAt,
  })
  await updateConfig(paths, (config) => {
    const record = { ...config.servers[server], credential_store: saved.kind, credential_backend: saved.backend }
    delete record.session_ended
    config.servers[server] = record
  })
}
