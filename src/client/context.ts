// Every outside resource the client logic touches comes in through this object (STYLE.md: streams, env,
// home directory, HTTP, browser, clock), so commands run in-process in tests with buffers and stubs.
import type { Readable, Writable } from 'node:stream'
import type { ProxySettings } from './tunnel/proxy.js'

/** The part of a fetch Response the client reads: the body as a stream, so that it can stop at a limit. */
export interface FetchResponse {
  status: number
  ok: boolean
  headers: { get(name: string): string | null }
  body: FetchBody | null
}

/** The part of a web ReadableStream of bytes the client uses. */
export interface FetchBody {
  getReader(): {
    read(): Promise<{ done: boolean; value?: Uint8Array }>
    cancel(reason?: unknown): Promise<void>
  }
}

export interface FetchInit {
  method?: string
  headers?: Record<string, string>
  body?: string
  signal?: AbortSignal
  redirect?: 'manual' | 'follow' | 'error'
}

export type FetchLike = (url: string, init?: FetchInit) => Promise<FetchResponse>

/** The OS keychain, or a stand-in for it. Every call may hang or throw; callers wrap it in a timeout. */
export interface Keychain {
  /** What holds the secrets, for `jitssh status`: `macOS Keychain`, `Secret Service`, ... */
  backend?: string
  /**
   * false when the store forgets at reboot (Linux's kernel keyring, which the keyring library falls back to
   * on a headless machine): jitssh then keeps the login in its 0600 file instead. Absent means it persists.
   */
  persistent?: boolean
  get(service: string, account: string, signal?: AbortSignal): Promise<string | null>
  set(service: string, account: string, secret: string, signal?: AbortSignal): Promise<void>
  delete(service: string, account: string, signal?: AbortSignal): Promise<boolean>
}

export interface ClientContext {
  env: Record<string, string | undefined>
  homedir: string
  /** The home directory ssh expands `~` to: the passwd entry, which need not be $HOME. */
  sshHomedir: string
  cwd: string
  platform: NodeJS.Platform
  pid: number
  /** The parent process (ssh, when ssh runs us as its Match exec or ProxyCommand, perhaps through a shell). */
  ppid: number
  stdin: Readable
  stdout: Writable
  stderr: Writable
  /** stderr is a terminal: spinners and colour are allowed (colour also needs NO_COLOR unset). */
  isTTY: boolean
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolves after `ms`, rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  fetch: FetchLike
  proxy: ProxySettings
  /** Opens the URL in the user's browser; resolves once launched (not when the page loads). */
  openBrowser(url: string): Promise<void>
  keychain(): Promise<Keychain>
  /** How long one keychain call may take before the keychain counts as unusable (3 s in the CLI). */
  keychainTimeoutMs: number
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal
  /** Absolute paths of node and bin/jitssh.js, for the generated ssh config; scriptPath null: execPath is a standalone jitssh executable. */
  execPath: string
  scriptPath: string | null
}
