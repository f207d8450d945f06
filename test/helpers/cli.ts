/**
 * Runs the jitssh CLI in-process (main(argv, ctx)) against a temp HOME, with buffers for the streams,
 * JITSSH_CREDENTIAL_STORE=file, the real undici fetch (configured from the test's env only, and failing
 * closed: loopback origins only, or nothing with `network: 'none'`) and a browser that must be given
 * explicitly: an unexpected browser open or network request fails the test.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { accessTokenPath } from '../../src/client/auth/credentials.js'
import type { ClientContext, FetchLike, Keychain } from '../../src/client/context.js'
import { jitsshPaths } from '../../src/client/files/paths.js'
import { proxySettingsFromEnv } from '../../src/client/tunnel/proxy.js'
import { createProxyFetch, sleep } from '../../src/cli/context.js'
import { main, type CommandRuns } from '../../src/cli/main.js'

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const BIN_JITSSH = join(REPO_ROOT, 'bin', 'jitssh.js')

export interface CliOptions {
  home: string
  env?: Record<string, string | undefined>
  stdin?: Readable
  openBrowser?: (url: string) => Promise<void>
  keychain?: Keychain
  /** As in the CLI (3000) unless a test of a hanging keychain makes it short. */
  keychainTimeoutMs?: number
  now?: () => number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  isTTY?: boolean
  platform?: NodeJS.Platform
  /** The parent process as the command sees it (default: the test runner's parent). */
  ppid?: number
  signal?: AbortSignal
  cwd?: string
  /** The home ssh expands `~` to; defaults to the real passwd home (as the real ssh does). */
  sshHomedir?: string
  /** Receives stderr as it is written (e.g. to read a device code while the command runs). */
  onStderr?: (text: string) => void
  /** Which HTTP requests may leave: 'loopback' (the default: 127.0.0.1, [::1], localhost) or 'none'. */
  network?: 'loopback' | 'none'
  /** runCli only: the run functions main uses (default: the real ones). */
  runs?: CommandRuns
  /** Wraps the context's fetch (which keeps its network rules), e.g. to count the bytes the client reads. */
  wrapFetch?: (fetch: FetchLike) => FetchLike
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  stdoutBytes: Buffer
}

export async function makeTempHome(prefix = 'jitssh-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function removeTempHome(home: string): Promise<void> {
  await rm(home, { recursive: true, force: true })
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** Why a test may not send this request, or null when it may. */
function refusal(url: string, network: 'loopback' | 'none'): string | null {
  if (network === 'none') return `unexpected network request in a test that makes none: ${url}`
  let hostname: string | undefined
  try {
    hostname = new URL(url).hostname
  } catch {
    hostname = undefined
  }
  return hostname !== undefined && LOOPBACK_HOSTS.has(hostname) ? null : `unexpected network request to a non-loopback address in a test: ${url}`
}

export interface TestContext {
  ctx: ClientContext
  stdout: PassThrough
  stderr: PassThrough
  /** The URLs of requests the context refused (each one also failed with an Error naming it). */
  refused: string[]
  close(): Promise<void>
}

export function testContext(options: CliOptions): TestContext {
  const env: Record<string, string | undefined> = {
    HOME: options.home,
    PATH: process.env.PATH,
    JITSSH_CREDENTIAL_STORE: 'file',
    ...options.env,
  }
  const http = createProxyFetch(env, options.home)
  const refused: string[] = []
  const guarded: FetchLike = async (url, init) => {
    const why = refusal(url, options.network ?? 'loopback')
    if (why !== null) {
      refused.push(url)
      throw new Error(why)
    }
    return http.fetch(url, init)
  }
  const fetch = options.wrapFetch ? options.wrapFetch(guarded) : guarded
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const ctx: ClientContext = {
    env,
    homedir: options.home,
    sshHomedir: options.sshHomedir ?? userInfo().homedir,
    cwd: options.cwd ?? options.home,
    platform: options.platform ?? 'linux',
    pid: process.pid,
    ppid: options.ppid ?? process.ppid,
    stdin: options.stdin ?? new PassThrough().end(),
    stdout,
    stderr,
    isTTY: options.isTTY ?? false,
    now: options.now ?? (() => Date.now()),
    sleep: options.sleep ?? sleep,
    fetch,
    proxy: proxySettingsFromEnv(env),
    openBrowser: options.openBrowser ?? (async (url) => {
      throw new Error(`unexpected browser open: ${url}`)
    }),
    keychain: async () => {
      if (options.keychain) return options.keychain
      throw new Error('no keychain in tests')
    },
    keychainTimeoutMs: options.keychainTimeoutMs ?? 3_000,
    signal: options.signal ?? new AbortController().signal,
    execPath: process.execPath,
    scriptPath: BIN_JITSSH,
  }
  return { ctx, stdout, stderr, refused, close: () => http.close() }
}

export async function runCli(argv: string[], options: CliOptions): Promise<CliResult> {
  const { ctx, stdout, stderr, refused, close } = testContext(options)
  const out: Buffer[] = []
  const err: Buffer[] = []
  stdout.on('data', (c: Buffer) => out.push(c))
  stderr.on('data', (c: Buffer) => {
    err.push(c)
    options.onStderr?.(c.toString('utf8'))
  })
  let code: number
  try {
    code = await main(argv, ctx, options.runs)
  } finally {
    await close()
  }
  await new Promise((r) => setImmediate(r))
  const stdoutBytes = Buffer.concat(out)
  const result = { code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes }
  // The command may have carried on (status does without the server): fail the test all the same.
  if (refused.length > 0) throw new Error(`jitssh ${argv.join(' ')} made unexpected network requests: ${refused.join(', ')}\nstderr: ${result.stderr}`)
  return result
}

/**
 * What a login leaves in `home` for `server`, without one: its discovery document (every endpoint under
 * `server`), a cached access token valid for 10 minutes, and (with `refreshToken`) the session in the
 * credentials file.
 */
/** A CA line for seeded discovery documents (its key signs nothing here). */
const SEED_CA_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGlQfTG2DrCVVPA6HA9/TqSpFKQe/EF/jyiQ99oB8Ued seed-ca'

export async function seedSession(home: string, server: string, tokens: { accessToken: string; refreshToken?: string }): Promise<void> {
  const paths = jitsshPaths({}, home)
  await mkdir(paths.tokens, { recursive: true })
  const discovery = {
    issuer: server, authorization_endpoint: `${server}/authorize`, token_endpoint: `${server}/token`,
    device_authorization_endpoint: `${server}/device_authorization`, revocation_endpoint: `${server}/revoke`,
    jwks_uri: `${server}/jwks`, userinfo_endpoint: `${server}/v1/me`,
    jitssh: {
      version: 1, client_id: 'jitssh-cli', sign_endpoint: `${server}/v1/ssh/sign`, tunnel_endpoint: `${server}/v1/tunnel`,
      user_ca_public_key: SEED_CA_LINE, host_ca_public_key: SEED_CA_LINE,
    },
  }
  const sessionExpiresAt = new Date(Date.now() + 3600_000).toISOString()
  await writeFile(paths.config, JSON.stringify({ version: 1, default_server: server, servers: { [server]: { discovery, credential_store: 'file' } } }))
  await writeFile(accessTokenPath(paths, server), JSON.stringify({ access_token: tokens.accessToken, expires_at: Date.now() + 600_000, session_expires_at: sessionExpiresAt }))
  if (tokens.refreshToken !== undefined) {
    await writeFile(paths.credentials, JSON.stringify({ version: 1, servers: { [server]: { refresh_token: tokens.refreshToken, session_expires_at: sessionExpiresAt } } }))
  }
}

/** Every file under `dir` with its mode, size and content hash: to assert a run touched nothing. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name)
      const st = await stat(full)
      const rel = relative(dir, full)
      if (entry.isDirectory()) {
        out[`${rel}/`] = `dir ${(st.mode & 0o7777).toString(8)}`
        await walk(full)
      } else {
        out[rel] = `file ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs} ${(await readFile(full)).toString('base64')}`
      }
    }
  }
  await walk(dir)
  return out
}

/**
 * `npm run build` once for the tests that run bin/jitssh.js as real child processes: skipped when dist is
 * newer than every source file, serialised between test files by a lock. Type errors elsewhere (work in
 * progress in other areas) do not stop it; errors in the client's own areas do.
 */
export async function ensureBuilt(): Promise<void> {
  const { execFile } = await import('node:child_process')
  const { mkdir: mkdirP } = await import('node:fs/promises')
  const { acquireLock } = await import('../../src/client/files/lock.js')
  const lockDir = join(REPO_ROOT, '.tmp')
  await mkdirP(lockDir, { recursive: true })
  const lock = await acquireLock(join(lockDir, 'build.lock'), { now: Date.now, sleep, staleMs: 300_000, timeoutMs: 300_000 })
  try {
    if (await builtIsFresh()) return
    const output = await new Promise<string>((resolveBuild) => {
      execFile(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], { cwd: REPO_ROOT }, (_error, stdout, stderr) => resolveBuild(`${stdout}${stderr}`))
    })
    const ours = output.split('\n').filter((line) => /^src\/(cli|client|ssh|shared)\//.test(line))
    if (ours.length > 0) throw new Error(`build failed:\n${ours.join('\n')}`)
    await stat(join(REPO_ROOT, 'dist/cli/entry.js'))
  } finally {
    await lock.release()
  }
}

async function builtIsFresh(): Promise<boolean> {
  let built: number
  try {
    built = (await stat(join(REPO_ROOT, 'dist/cli/entry.js'))).mtimeMs
  } catch {
    return false
  }
  const newest = async (dir: string): Promise<number> => {
    let max = 0
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      max = Math.max(max, entry.isDirectory() ? await newest(full) : (await stat(full)).mtimeMs)
    }
    return max
  }
  return (await newest(join(REPO_ROOT, 'src'))) < built
}
