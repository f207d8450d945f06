/**
 * Real OpenSSH for tests: an unprivileged sshd on a loopback port with a temp config, the real ssh
 * client with a clean, non-interactive configuration, and ssh-keygen.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { accessSync, appendFileSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

export const SSHD_PATH = '/usr/sbin/sshd'
export const SSH_PATH = '/usr/bin/ssh'
export const SSH_KEYGEN_PATH = '/usr/bin/ssh-keygen'

/** ssh options that make a test connection deterministic: no user config, no prompts, no known_hosts. */
export const SSH_TEST_OPTIONS = ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes']

export interface SshdOptions {
  /** Text of the CA public key line(s) sshd trusts for user certificates. */
  trustedUserCaKeys: string
  /** Path of a KRL (or key list) for `RevokedKeys`. The file must exist: sshd denies every key if it cannot read it. */
  revokedKeysPath?: string
  /** Value for `AuthorizedPrincipalsFile` (sshd tokens such as %u are allowed). */
  authorizedPrincipalsFile?: string
  /** More sshd_config lines, appended last. */
  extraConfig?: string[]
  /** An Ed25519 host private key to use (its `.pub` beside it) instead of a fresh one. */
  hostKey?: string
  /** A file to `Include` before everything else: sshd keeps a keyword's first value, so its lines win. */
  includeFirst?: string
  /**
   * Given the host public key line, returns (or resolves to) a host certificate line for it (sshd then
   * presents it: `HostCertificate`). Async so that a test can run `jitssh-server host-cert` itself.
   */
  hostCertificate?: (hostPublicKeyLine: string) => string | Promise<string>
}

export interface RunningSshd {
  host: '127.0.0.1'
  port: number
  /** The user tests log in as (the user running the tests). */
  user: string
  /** The temp directory holding the config, host key and log. */
  dir: string
  logText(): string
  /** Resolves with the log so far once `re` matches it; rejects with the log after `timeoutMs`. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>
  stop(): Promise<void>
}

export interface ToolOptions {
  input?: string
  timeoutMs?: number
  /** Added to the inherited environment (e.g. { TZ: 'UTC' } for ssh-keygen -L dates). */
  env?: Record<string, string>
}

export interface ToolResult {
  code: number | null
  stdout: string
  stderr: string
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

function registerForCleanup(child: ChildProcess): void {
  running.add(child)
  child.once('exit', () => running.delete(child))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => running.forEach((proc) => proc.kill('SIGKILL')))
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function sshdAvailable(): boolean {
  return [SSHD_PATH, SSH_PATH, SSH_KEYGEN_PATH].every(isExecutable)
}

/** Runs a program to completion, collecting its output. */
export async function runTool(path: string, args: string[], opts: ToolOptions = {}): Promise<ToolResult> {
  const stdin = opts.input === undefined ? 'ignore' : 'pipe'
  const child = spawn(path, args, { stdio: [stdin, 'pipe', 'pipe'], env: { ...process.env, ...opts.env } })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  // A program may exit without reading its input: that is its answer, not a test failure.
  child.stdin?.on('error', () => {})
  child.stdin?.end(opts.input)
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000)
  try {
    const [code] = (await once(child, 'close')) as [number | null]
    return { code, stdout, stderr }
  } finally {
    clearTimeout(timer)
  }
}

/** The real ssh client with SSH_TEST_OPTIONS prepended. */
export function runSsh(args: string[], opts?: ToolOptions): Promise<ToolResult> {
  return runTool(SSH_PATH, [...SSH_TEST_OPTIONS, ...args], opts)
}

export function runSshKeygen(args: string[], opts?: ToolOptions): Promise<ToolResult> {
  return runTool(SSH_KEYGEN_PATH, args, opts)
}

export async function freeLoopbackPort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel')
  return address.port
}

const quote = (path: string): string => `"${path}"`

function sshdConfig(dir: string, port: number, options: SshdOptions): string {
  const lines = [
    ...(options.includeFirst ? [`Include ${quote(options.includeFirst)}`] : []),
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${quote(join(dir, 'host_ed25519_key'))}`,
    `TrustedUserCAKeys ${quote(join(dir, 'trusted_user_ca_keys'))}`,
    'AuthorizedKeysFile none',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PidFile none',
    'LogLevel VERBOSE',
    // Sessions see an empty home, not the account's dotfiles: Debian's bash sources ~/.bashrc for every ssh
    // command, and a machine's own (pyenv init, which waits up to 60 s on a lock a killed shell left behind)
    // hung every login in CI. sshd still starts the session in the account's real home directory.
    `SetEnv ${quote(`HOME=${join(dir, 'home')}`)}`,
  ]
  if (options.hostCertificate) lines.push(`HostCertificate ${quote(join(dir, 'host_ed25519_key-cert.pub'))}`)
  if (options.revokedKeysPath) lines.push(`RevokedKeys ${quote(options.revokedKeysPath)}`)
  if (options.authorizedPrincipalsFile) lines.push(`AuthorizedPrincipalsFile ${quote(options.authorizedPrincipalsFile)}`)
  lines.push(...(options.extraConfig ?? []))
  return `${lines.join('\n')}\n`
}

/** Starts sshd in the foreground (-D) logging to stderr (-e); resolves once it listens. */
async function launch(dir: string, options: SshdOptions): Promise<{ child: ChildProcess; port: number; log: EventEmitter & { text: string } }> {
  const port = await freeLoopbackPort()
  const configPath = join(dir, 'sshd_config')
  writeFileSync(configPath, sshdConfig(dir, port, options))
  const logPath = join(dir, 'sshd.log')
  const log = Object.assign(new EventEmitter(), { text: '' })
  const child = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
  registerForCleanup(child)
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log.text += chunk
    try {
      appendFileSync(logPath, chunk)
    } catch {
      // The directory may be gone already: a connection child's last lines can arrive after stop() and cleanup.
    }
    log.emit('data')
  })
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (!log.text.includes('Server listening')) return
      cleanup()
      resolve()
    }
    const onExit = (): void => {
      cleanup()
      reject(Object.assign(new Error(`sshd exited before listening:\n${log.text}`), { addressInUse: /Address already in use/.test(log.text) }))
    }
    const cleanup = (): void => {
      log.off('data', onData)
      child.off('exit', onExit)
    }
    log.on('data', onData)
    child.once('exit', onExit)
    onData()
  })
  return { child, port, log }
}

export async function startSshd(options: SshdOptions): Promise<RunningSshd> {
  // sshd's privilege separation needs this directory when it runs as root (as CI does).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
  const dir = await mkdtemp(join(tmpdir(), 'jitssh-sshd-'))
  mkdirSync(join(dir, 'home'), { mode: 0o700 })
  if (options.hostKey) {
    writeFileSync(join(dir, 'host_ed25519_key'), readFileSync(options.hostKey), { mode: 0o600 })
    writeFileSync(join(dir, 'host_ed25519_key.pub'), readFileSync(`${options.hostKey}.pub`))
  } else {
    const keygen = await runSshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'jitssh-test-host', '-f', join(dir, 'host_ed25519_key')])
    if (keygen.code !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr}`)
  }
  if (options.hostCertificate) {
    const hostKeyLine = readFileSync(join(dir, 'host_ed25519_key.pub'), 'utf8').trim()
    writeFileSync(join(dir, 'host_ed25519_key-cert.pub'), `${(await options.hostCertificate(hostKeyLine)).trim()}\n`)
  }
  writeFileSync(join(dir, 'trusted_user_ca_keys'), options.trustedUserCaKeys.endsWith('\n') ? options.trustedUserCaKeys : `${options.trustedUserCaKeys}\n`)

  let started: Awaited<ReturnType<typeof launch>> | undefined
  for (let attempt = 1; !started; attempt++) {
    try {
      started = await launch(dir, options)
    } catch (error) {
      // Another process may take the port between our probe and sshd's bind: pick a new one.
      if (attempt >= 5 || !(error as { addressInUse?: boolean }).addressInUse) throw error
    }
  }
  const { child, port, log } = started

  const waitForLog = (re: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!re.test(log.text)) return
        clearTimeout(timer)
        log.off('data', check)
        resolve(log.text)
      }
      const timer = setTimeout(() => {
        log.off('data', check)
        reject(new Error(`sshd log did not match ${re} within ${timeoutMs} ms:\n${log.text}`))
      }, timeoutMs)
      log.on('data', check)
      check()
    })

  /** Stops sshd and removes its temp directory (config, host key, log). */
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }

  return { host: '127.0.0.1', port, user: userInfo().username, dir, logText: () => log.text, waitForLog, stop }
}
