// Where the refresh token lives: the OS keychain (every call bounded by a timeout: keychains can hang),
// else ~/.jitssh/credentials.json (0600) with a one-time warning. JITSSH_CREDENTIAL_STORE=file|keychain
// (env.ts) forces one. The short-lived access token is cached apart, in ~/.jitssh/tokens/<server-id>.json (0600).
import { JitsshError } from '../../shared/errors.js'
import type { ClientContext, Keychain } from '../context.js'
import { parseJitsshEnv } from '../env.js'
import { readConfig, updateConfig, type CredentialStoreKind } from '../files/config-store.js'
import { ensurePrivateDir, readJsonOrNull, removeFile, writeFileAtomic } from '../files/atomic-files.js'
import { acquireLock } from '../files/lock.js'
import type { JitsshPaths } from '../files/paths.js'
import { serverId } from './server-url.js'
import { join } from 'node:path'

export const KEYCHAIN_SERVICE = 'jitssh'

export interface StoredSession {
  refresh_token: string
  /** ISO 8601 end of the server-side session. */
  session_expires_at: string
}

export interface CachedAccessToken {
  access_token: string
  /** ms since the epoch */
  expires_at: number
  session_expires_at: string
}

interface CredentialsFile {
  version: 1
  servers: Record<string, StoredSession>
}

async function withKeychain<T>(ctx: ClientContext, what: string, call: (k: Keychain, signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new Error(`the OS keychain did not answer within ${ctx.keychainTimeoutMs / 1000} s`))
    }, ctx.keychainTimeoutMs)
  })
  try {
    return await Promise.race([ctx.keychain().then((k) => call(k, controller.signal)), timeout])
  } catch (error) {
    throw new JitsshError('ERR_INTERNAL', `cannot ${what} the OS keychain: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      hint: 'set JITSSH_CREDENTIAL_STORE=file to keep the token in ~/.jitssh/credentials.json instead',
    })
  } finally {
    clearTimeout(timer)
  }
}

/** Where a session went: the kind of store, and what it is (`Secret Service`, or the file's path). */
export interface SavedIn {
  kind: CredentialStoreKind
  backend: string
}

/**
 * Stores the session; returns where it went. Falls back from keychain to file unless the keychain is forced,
 * also when the keychain would not keep it across a reboot (Linux's kernel keyring).
 */
export async function saveSession(
  ctx: ClientContext,
  paths: JitsshPaths,
  server: string,
  session: StoredSession,
  warn: (message: string) => void,
): Promise<SavedIn> {
  const forced = parseJitsshEnv(ctx.env).credentialStore
  if (forced !== 'file') {
    try {
      const backend = await withKeychain(ctx, 'write to', async (k, signal) => {
        const name = k.backend ?? 'OS keychain'
        if (k.persistent === false) throw new Error(`${name} forgets everything at reboot`)
        await k.set(KEYCHAIN_SERVICE, server, JSON.stringify(session), signal)
        return name
      })
      await updateCredentialsFile(ctx, paths, (file) => delete file.servers[server])
      return { kind: 'keychain', backend }
    } catch (error) {
      if (forced === 'keychain') throw error
      const config = await readConfig(paths)
      if (config.file_store_warned !== true) {
        warn(`no usable OS keychain (${error instanceof JitsshError ? error.message.replace(/^cannot write to the OS keychain: /, '') : 'error'}); keeping the login in ${paths.credentials} (mode 0600)`)
        await updateConfig(paths, (c) => {
          c.file_store_warned = true
        })
      }
    }
  }
  await updateCredentialsFile(ctx, paths, (file) => {
    file.servers[server] = session
  })
  return { kind: 'file', backend: `${paths.credentials} (mode 0600)` }
}

export async function loadSession(ctx: ClientContext, paths: JitsshPaths, server: string, kind: CredentialStoreKind | undefined): Promise<StoredSession | null> {
  if (kind === 'keychain' && parseJitsshEnv(ctx.env).credentialStore !== 'file') {
    const text = await withKeychain(ctx, 'read from', (k, signal) => k.get(KEYCHAIN_SERVICE, server, signal))
    return parseSession(text)
  }
  const file = await readJsonOrNull<CredentialsFile>(paths.credentials)
  const entry = file?.servers?.[server]
  return entry && typeof entry.refresh_token === 'string' ? entry : null
}

function parseSession(text: string | null): StoredSession | null {
  if (text === null) return null
  try {
    const parsed = JSON.parse(text) as StoredSession
    return typeof parsed.refresh_token === 'string' ? parsed : null
  } catch {
    return null
  }
}

/** Removes the session from both stores (a keychain that cannot be reached is reported, not fatal). */
export async function deleteSession(ctx: ClientContext, paths: JitsshPaths, server: string, kind: CredentialStoreKind | undefined, warn: (m: string) => void): Promise<void> {
  await updateCredentialsFile(ctx, paths, (file) => delete file.servers[server])
  await removeFile(accessTokenPath(paths, server))
  if (kind === 'keychain') {
    try {
      await withKeychain(ctx, 'delete from', (k, signal) => k.delete(KEYCHAIN_SERVICE, server, signal))
    } catch (error) {
      warn(error instanceof Error ? error.message : String(error))
    }
  }
}

/**
 * The session has ended (the server refused its refresh token, or the stored login is gone): its dead refresh
 * token and access token go, and the end is remembered in config.json with `reason`, so that the next command
 * knows a login is wanted (ssh-gen on a terminal starts one) rather than treating the person as logged out.
 */
export async function markSessionEnded(ctx: ClientContext, paths: JitsshPaths, server: string, reason: string, warn: (m: string) => void): Promise<void> {
  const kind = (await readConfig(paths)).servers[server]?.credential_store
  await deleteSession(ctx, paths, server, kind, warn)
  await updateConfig(paths, (config) => {
    const record = { ...config.servers[server] }
    delete record.credential_store
    delete record.credential_backend
    record.session_ended = { at: new Date(ctx.now()).toISOString(), reason }
    config.servers[server] = record
  })
}

async function updateCredentialsFile(ctx: ClientContext, paths: JitsshPaths, change: (file: CredentialsFile) => void): Promise<void> {
  await ensurePrivateDir(paths.locks)
  const lock = await acquireLock(join(paths.locks, 'credentials.lock'), {
    now: ctx.now, sleep: ctx.sleep, signal: ctx.signal, staleMs: 30_000, timeoutMs: 30_000,
  })
  try {
    const existing = await readJsonOrNull<CredentialsFile>(paths.credentials)
    const file: CredentialsFile = { version: 1, servers: existing?.servers ?? {} }
    const before = JSON.stringify(file)
    change(file)
    if (JSON.stringify(file) === before && existing !== null) return
    if (existing === null && Object.keys(file.servers).length === 0) return
    await writeFileAtomic(paths.credentials, `${JSON.stringify(file, null, 2)}\n`, 0o600)
  } finally {
    await lock.release()
  }
}

export function accessTokenPath(paths: JitsshPaths, server: string): string {
  return join(paths.tokens, `${serverId(server)}.json`)
}

export async function readAccessToken(paths: JitsshPaths, server: string): Promise<CachedAccessToken | null> {
  const cached = await readJsonOrNull<CachedAccessToken>(accessTokenPath(paths, server))
  return cached && typeof cached.access_token === 'string' && typeof cached.expires_at === 'number' ? cached : null
}

export async function writeAccessToken(paths: JitsshPaths, server: string, token: CachedAccessToken): Promise<void> {
  await ensurePrivateDir(paths.tokens)
  await writeFileAtomic(accessTokenPath(paths, server), JSON.stringify(token), 0o600)
}
