/**
 * The whole product on one machine, for the end-to-end suite, the demo and the benchmarks:
 * a real jitssh-server, a real sshd that trusts the server's user CA and presents a host certificate from
 * its host CA, a temp HOME for the user, and runners for the built `jitssh` CLI and the real `ssh` client.
 *
 *   const stack = await startStack()
 *   await stack.loginWithBrowser(browser)          // jitssh login, completed in headless Chromium
 *   await stack.jitssh(['ssh-config', '--hostname', 'vm.example.com', '--short-lived-cert', '--write'])
 *   await stack.ssh(['vm.example.com', 'true'])
 *   await stack.stop()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser } from 'playwright-core'
import { generateServerKeys, loadServerKeys, type ServerKeys } from '../../src/server/ca/server-keys.js'
import { signCertificate } from '../../src/ssh/certificate.js'
import { parsePublicKey } from '../../src/ssh/keys.js'
import { answerDeviceCode, completeBrowserLogin, type Credentials } from './chromium.js'
import { startTestServer, TEST_PASSWORD, type TestServer, type TestServerOptions, type TestUser } from './server.js'
import { runTool, SSH_PATH, startSshd, type RunningSshd, type ToolOptions, type ToolResult } from './sshd.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const JITSSH_BIN = join(REPO_ROOT, 'bin', 'jitssh.js')

/** The host the user reaches through jitssh, and one that policy does not open to them. */
export const VM_HOST = 'vm.example.com'
export const DENIED_HOST = 'db.example.com'

const ALICE: Credentials = { username: 'alice', password: TEST_PASSWORD }

export interface StackOptions {
  /** Host names the bastion routes to the sshd (default: vm.example.com and db.example.com). */
  hosts?: string[]
  /** More bastion targets, host → address (e.g. one where nothing listens). */
  extraTargets?: Record<string, string>
  /** Local users (default: alice and bob with TEST_PASSWORD). */
  users?: TestUser[]
  /** Policy rules (YAML shape); default: group dev may reach vm.example.com as the local OS user, 10 minutes. */
  policy?: Array<Record<string, unknown>>
  /** More top-level server config keys. */
  serverConfig?: Record<string, unknown>
  /** sshd_config lines to add (e.g. RevokedKeys). */
  sshdConfig?: string[]
  /** Server log lines go here (default: dropped). */
  serverLog?: NodeJS.WritableStream
  /** The server's clock (default: the real one). */
  serverNow?: () => number
  /** The jitssh program to run (default: node and the repository's bin/jitssh.js), e.g. an installed package or the standalone executable. */
  cli?: string[]
}

export interface Stack {
  server: TestServer
  sshd: RunningSshd
  keys: ServerKeys
  /** The user's temp HOME (with .ssh/ and .jitssh/ inside). */
  home: string
  sshConfigPath: string
  env: Record<string, string>
  /** Runs the built CLI (`node bin/jitssh.js ...`, or the `cli` option) as the user. */
  jitssh(args: string[], opts?: ToolOptions): Promise<ToolResult>
  /** Runs the real ssh client with the user's ssh config (`-F`), non-interactive. */
  ssh(args: string[], opts?: ToolOptions): Promise<ToolResult>
  /** Starts a CLI process and hands it back (for login flows that print a URL and wait). */
  spawnJitssh(args: string[]): ChildProcess
  /** `jitssh login --no-browser [...args]`, completed by headless Chromium on the real login page. */
  loginWithBrowser(browser: Browser, creds?: Credentials, args?: string[]): Promise<ToolResult>
  /** `jitssh login --device`, approved in headless Chromium. */
  loginWithDevice(browser: Browser, creds?: Credentials): Promise<ToolResult>
  /** Another person on the same machine (e.g. an admin): a second temp HOME with its own CLI runner. */
  addHome(): StackHome
  stop(): Promise<void>
}

/** A second user's temp HOME (removed by `stop`), with the CLI run as that user. */
export interface StackHome {
  home: string
  env: Record<string, string>
  jitssh(args: string[], opts?: ToolOptions): Promise<ToolResult>
  /** `jitssh login --no-browser` in this HOME, completed by headless Chromium with `creds`. */
  loginWithBrowser(browser: Browser, creds: Credentials): Promise<ToolResult>
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const keysDir = mkdtempSync(join(tmpdir(), 'jitssh-keys-'))
  generateServerKeys(keysDir)
  const keys = await loadServerKeys(keysDir)

  const sshd = await startSshd({
    trustedUserCaKeys: keys.userCaLine,
    extraConfig: ['Subsystem sftp internal-sftp', ...(options.sshdConfig ?? [])],
    hostCertificate: (hostKeyLine) => signHostCertificate(keys, hostKeyLine, options.hosts ?? []),
  })
  const target = `127.0.0.1:${sshd.port}`
  const serverOptions: TestServerOptions = {
    targets: { ...Object.fromEntries((options.hosts ?? [VM_HOST, DENIED_HOST]).map((host) => [host, target])), ...options.extraTargets },
    ...(options.users ? { users: options.users } : {}),
    policy: options.policy ?? [{ name: 'e2e', groups: ['dev'], hosts: [VM_HOST], principals: [sshd.user], max_ttl: '10m' }],
    config: { keys_dir: keysDir, ...options.serverConfig },
    ...(options.serverLog ? { logStream: options.serverLog } : {}),
    ...(options.serverNow ? { now: options.serverNow } : {}),
  }
  const server = await startTestServer(serverOptions)

  const home = mkdtempSync(join(tmpdir(), 'jitssh-home-'))
  mkdirSync(join(home, '.ssh'), { mode: 0o700 })
  const sshConfigPath = join(home, '.ssh', 'config')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    JITSSH_HOME: join(home, '.jitssh'),
    JITSSH_CREDENTIAL_STORE: 'file',
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
  }
  // runTool adds to the inherited environment; blank out what could leak the developer's own setup in.
  const isolated = { ...env, SSH_AUTH_SOCK: '', SSH_CONNECTION: '', DISPLAY: '', WAYLAND_DISPLAY: '', HTTPS_PROXY: '', HTTP_PROXY: '', https_proxy: '', http_proxy: '' }

  const [cliProgram, ...cliArgs] = options.cli ?? [process.execPath, JITSSH_BIN]
  if (cliProgram === undefined) throw new Error('startStack: cli must name a program')
  const jitssh = (args: string[], opts: ToolOptions = {}): Promise<ToolResult> =>
    runTool(cliProgram, [...cliArgs, ...args], { timeoutMs: 60_000, ...opts, env: { ...isolated, ...opts.env } })

  const ssh = (args: string[], opts: ToolOptions = {}): Promise<ToolResult> =>
    runTool(SSH_PATH, ['-F', sshConfigPath, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', ...args], {
      timeoutMs: 120_000,
      ...opts,
      env: { ...isolated, ...opts.env },
    })

  const spawnJitssh = (args: string[]): ChildProcess =>
    spawn(cliProgram, [...cliArgs, ...args], { env: { ...process.env, ...isolated }, stdio: ['ignore', 'pipe', 'pipe'] })

  const loginWith = async (args: string[], drive: (url: string) => Promise<unknown>): Promise<ToolResult> => {
    const child = spawnJitssh(['login', '--server', server.url, ...args])
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    const urlSeen = new Promise<string>((resolveUrl, reject) => {
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        const match = /(https?:\/\/\S+(?:\/authorize\?|\/device\?user_code=)\S+)/.exec(stderr)
        if (match) resolveUrl(match[1]!)
      })
      child.once('exit', () => reject(new Error(`jitssh login exited before printing a URL:\n${stderr}`)))
    })
    const closed = once(child, 'close')
    try {
      await drive(await urlSeen)
    } catch (error) {
      child.kill('SIGKILL')
      throw error
    }
    const [code] = (await closed) as [number | null]
    return { code, stdout, stderr }
  }

  const extraHomes: string[] = []
  const addHome = (): StackHome => {
    const other = mkdtempSync(join(tmpdir(), 'jitssh-home-'))
    extraHomes.push(other)
    const otherEnv = { ...env, HOME: other, JITSSH_HOME: join(other, '.jitssh') }
    const otherIsolated = { ...isolated, ...otherEnv }
    return {
      home: other,
      env: otherEnv,
      jitssh: (args, opts = {}) => runTool(process.execPath, [JITSSH_BIN, ...args], { timeoutMs: 60_000, ...opts, env: { ...otherIsolated, ...opts.env } }),
      loginWithBrowser: async (browser, creds) => {
        const child = spawn(process.execPath, [JITSSH_BIN, 'login', '--server', server.url, '--no-browser'], { env: { ...process.env, ...otherIsolated }, stdio: ['ignore', 'pipe', 'pipe'] })
        let stdout = ''
        let stderr = ''
        child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
        const closed = once(child, 'close')
        const url = await new Promise<string>((resolveUrl, reject) => {
          child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
            stderr += chunk
            const match = /(https?:\/\/\S+\/authorize\?\S+)/.exec(stderr)
            if (match) resolveUrl(match[1]!)
          })
          child.once('exit', () => reject(new Error(`jitssh login exited before printing a URL:\n${stderr}`)))
        })
        try {
          await completeBrowserLogin(browser, url, creds)
        } catch (error) {
          child.kill('SIGKILL')
          throw error
        }
        const [code] = (await closed) as [number | null]
        return { code, stdout, stderr }
      },
    }
  }

  return {
    server,
    sshd,
    keys,
    home,
    sshConfigPath,
    env,
    jitssh,
    ssh,
    spawnJitssh,
    loginWithBrowser: (browser, creds = ALICE, args = []) => loginWith(['--no-browser', ...args], (url) => completeBrowserLogin(browser, url, creds)),
    loginWithDevice: (browser, creds = ALICE) => loginWith(['--device'], (url) => answerDeviceCode(browser, url, creds)),
    addHome,
    async stop() {
      await Promise.allSettled([server.stop(), sshd.stop()])
      rmSync(home, { recursive: true, force: true })
      for (const other of extraHomes) rmSync(other, { recursive: true, force: true })
      rmSync(keysDir, { recursive: true, force: true })
    },
  }
}

/** A host certificate for the test sshd, signed by the server's host CA, valid for the jitssh test hosts (and `hosts`). */
async function signHostCertificate(keys: ServerKeys, hostKeyLine: string, hosts: string[]): Promise<string> {
  const now = BigInt(Math.floor(Date.now() / 1000))
  const certificate = await signCertificate(
    {
      type: 'host',
      publicKey: parsePublicKey(hostKeyLine),
      serial: randomBytes(8).readBigUInt64BE() || 1n,
      keyId: 'jitssh-test-sshd',
      principals: [...new Set([VM_HOST, DENIED_HOST, 'demo-host', ...hosts])],
      validAfter: now - 60n,
      validBefore: now + 24n * 3600n,
      criticalOptions: {},
      extensions: [],
    },
    keys.hostCa,
  )
  return certificate.line
}
