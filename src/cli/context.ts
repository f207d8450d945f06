// The real outside world, gathered in one place: the process's streams and env, HTTP on node:http(s)
// (node-fetch.ts), the `open` package, @napi-rs/keyring, the clock, and SIGINT/SIGTERM → abort.
import { homedir, userInfo } from 'node:os'
import { isSea } from 'node:sea'
import { fileURLToPath } from 'node:url'
import { JitsshError } from '../shared/errors.js'
import type { ClientContext, FetchLike, Keychain } from '../client/context.js'
import { proxySettingsFromEnv } from '../client/tunnel/proxy.js'
import { readConfig } from '../client/files/config-store.js'
import { jitsshPaths } from '../client/files/paths.js'
import { caFileFor, readCaFile, type ExtraCa } from '../client/trust.js'
import { createNodeFetch } from './node-fetch.js'

/** Keychains can hang (a locked login keyring, a D-Bus service that never answers): give up after this. */
const KEYCHAIN_TIMEOUT_MS = 3_000

export interface ProcessContext {
  ctx: ClientContext
  /** Releases what the context holds (HTTP connections, signal handlers). */
  dispose(): Promise<void>
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new JitsshError('ERR_INTERRUPTED', 'interrupted'))
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(new JitsshError('ERR_INTERRUPTED', 'interrupted'))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * The CLI's fetch (node-fetch.ts: node:http(s), keep-alive, HTTPS_PROXY/NO_PROXY from `env`, not from
 * process.env). A server with a private CA (JITSSH_CA_FILE, or `login --ca-file` kept in config.json under
 * `home`) is trusted for its requests.
 */
export function createProxyFetch(env: Record<string, string | undefined>, home: string = homedir()): { fetch: FetchLike; close(): Promise<void> } {
  const caByOrigin = new Map<string, Promise<ExtraCa | null>>()
  const extraCa = (url: string): Promise<ExtraCa | null> => {
    const origin = new URL(url).origin
    let found = caByOrigin.get(origin)
    if (found === undefined) {
      found = readConfig(jitsshPaths(env, home)).then((config) => {
        const file = caFileFor(env, config, url)
        return file === undefined ? null : readCaFile(file)
      })
      caByOrigin.set(origin, found)
    }
    return found
  }
  const http = createNodeFetch({
    proxy: proxySettingsFromEnv(env),
    caFor: async (url) => {
      const trusted = await extraCa(url)
      return trusted === null ? null : { key: trusted.file, ca: trusted.ca }
    },
  })
  return { fetch: http.fetch, close: async () => http.close() }
}

/**
 * The OS keychain through @napi-rs/keyring. On Linux the library picks the Secret Service (GNOME Keyring,
 * KWallet, KeePassXC) and else falls back to the kernel keyring, which lives in memory and is gone after a
 * reboot: a login kept there vanishes silently. So the Secret Service is required here, and without one the
 * keychain is reported as not persistent (saveSession then uses the 0600 file; entries an older jitssh wrote
 * to the kernel keyring can still be read and deleted).
 */
export async function loadKeychain(platform: NodeJS.Platform = process.platform): Promise<Keychain> {
  // The standalone executable carries no native addon: logins go to the 0600 file (with the usual warning).
  if (isSea()) throw new Error('the standalone jitssh executable has no keychain binding')
  const { AsyncEntry } = await import('@napi-rs/keyring')
  let options: { linux: { store: 'secret-service' } } | undefined
  let backend = platform === 'darwin' ? 'macOS Keychain' : platform === 'win32' ? 'Windows Credential Manager' : 'OS keychain'
  let persistent = true
  if (platform === 'linux') {
    try {
      new AsyncEntry('jitssh', 'probe', { linux: { store: 'secret-service' } }) // throws when no Secret Service answers
      options = { linux: { store: 'secret-service' } }
      backend = 'Secret Service'
    } catch {
      backend = 'the kernel keyring'
      persistent = false
    }
  }
  const entry = (service: string, account: string) => new AsyncEntry(service, account, options)
  return {
    backend,
    persistent,
    get: (service, account, signal) => entry(service, account).getPassword(signal).then((v) => v ?? null),
    set: (service, account, secret, signal) => entry(service, account).setPassword(secret, signal),
    delete: (service, account, signal) => entry(service, account).deleteCredential(signal),
  }
}

export async function openInBrowser(url: string): Promise<void> {
  const { default: open } = await import('open')
  const child = await open(url)
  child.once('error', () => undefined)
  child.unref()
}

function sshHome(): string {
  try {
    return userInfo().homedir
  } catch {
    return homedir()
  }
}

export function createProcessContext(): ProcessContext {
  const controller = new AbortController()
  let interrupts = 0
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++
    if (interrupts === 1) {
      controller.abort()
      return
    }
    // A second Ctrl-C: stop waiting for a clean exit.
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.kill(process.pid, signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const env = process.env
  const http = createProxyFetch(env)
  const ctx: ClientContext = {
    env,
    homedir: homedir(),
    sshHomedir: sshHome(),
    cwd: process.cwd(),
    platform: process.platform,
    pid: process.pid,
    ppid: process.ppid,
    get stdin() {
      return process.stdin // created on first use only: ssh-gen never touches it
    },
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stderr.isTTY === true,
    now: () => Date.now(),
    sleep,
    fetch: http.fetch,
    proxy: proxySettingsFromEnv(env),
    openBrowser: openInBrowser,
    keychain: () => loadKeychain(),
    keychainTimeoutMs: KEYCHAIN_TIMEOUT_MS,
    signal: controller.signal,
    execPath: process.execPath,
    scriptPath: isSea() ? null : fileURLToPath(new URL('../../bin/jitssh.js', import.meta.url)),
  }
  return {
    ctx,
    dispose: async () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await http.close()
    },
  }
}
