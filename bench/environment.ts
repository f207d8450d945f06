/**
 * The benchmark's world, all on 127.0.0.1, from the end-to-end harness's parts: a target sshd trusting the
 * user CA (test/helpers/sshd.ts) with a host certificate, jitssh-server as its own process (as in
 * production: its CPU and heap are its own, not this runner's, which also holds Chromium's driver), a temp
 * HOME, `jitssh login` done once in headless Chromium on the real login page, the jitssh ssh config written
 * by `jitssh ssh-config --write`, and a warm certificate on disk. The CLI measured is the `jitssh` package as
 * `npm run build` makes it (dist/packages/jitssh: the bundled CLI that the README's install command installs),
 * so ssh runs what a user's machine runs, not the checkout's ES modules. For the baselines: a second sshd acting as
 * an OpenSSH bastion (ProxyJump), and an ssh config that reaches the target directly or through that
 * bastion with the very same key and certificate, checking host keys through the same host CA; and a socat
 * relay of jitssh's shape (bench/relay.ts), the floor of any ProxyCommand-plus-bastion design.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateServerKeys, loadServerKeys, type ServerKeys } from '../src/server/ca/server-keys.js'
import { signCertificate } from '../src/ssh/certificate.js'
import { parsePublicKey } from '../src/ssh/keys.js'
import { completeBrowserLogin, launchChromium } from '../test/helpers/chromium.js'
import { TEST_PASSWORD } from '../test/helpers/server.js'
import { REPO_ROOT, VM_HOST } from '../test/helpers/stack.js'
import { runSshKeygen, runTool, SSH_PATH, startSshd, type RunningSshd } from '../test/helpers/sshd.js'
import { requireSocat, startSocatRelay } from './relay.js'
import { startServerProcess, type ServerProcess } from './server-process.js'

export const BASTION_ALIAS = 'bastion.example.com'
/** ssh host names in the baseline config. */
export const DIRECT_HOST = 'bench-direct'
export const JUMP_HOST = 'bench-jump'
export const RELAY_HOST = 'bench-relay'

export interface BenchEnvironment {
  server: ServerProcess
  sshd: RunningSshd
  bastion: RunningSshd
  /** The user's temp HOME; its .ssh/config is the one jitssh wrote. */
  home: string
  sshConfigPath: string
  /** The environment every ssh / jitssh child gets: the temp HOME and nothing of the developer's own. */
  env: NodeJS.ProcessEnv
  /** `ssh` argv (without the command) through jitssh, directly, through the OpenSSH bastion, and through the socat relay (bench/relay.ts). */
  sshVia: { jitssh: string[]; direct: string[]; proxyjump: string[]; relay: string[] }
  stop(): Promise<void>
}

/** bin/jitssh.js of the built `jitssh` package (scripts/build-packages.ts). */
export const PACKAGED_JITSSH_BIN = join(REPO_ROOT, 'dist', 'packages', 'jitssh', 'bin', 'jitssh.js')

export async function startBenchEnvironment(log: (line: string) => void): Promise<BenchEnvironment> {
  const stops: Array<() => Promise<unknown> | void> = []
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined)
  }
  try {
    requireSocat()
    const keysDir = mkdtempSync(join(tmpdir(), 'jitssh-bench-keys-'))
    stops.push(() => rmSync(keysDir, { recursive: true, force: true }))
    generateServerKeys(keysDir)
    const keys = await loadServerKeys(keysDir)
    const browser = await launchChromium()
    stops.push(() => browser.close())

    const sshd = await startSshd({
      trustedUserCaKeys: keys.userCaLine,
      hostCertificate: (hostKeyLine) => hostCertificate(keys, hostKeyLine, VM_HOST),
    })
    stops.push(() => sshd.stop().then(() => rmSync(sshd.dir, { recursive: true, force: true })))
    const user = sshd.user
    const server = await startServerProcess({
      targets: { [VM_HOST]: `127.0.0.1:${sshd.port}` },
      // The sshd's user logs in; an hour-long certificate outlives the whole run.
      policy: [{ name: 'bench', groups: ['dev'], hosts: [VM_HOST], principals: [user], max_ttl: '1h' }],
      config: { keys_dir: keysDir },
    })
    stops.push(() => server.stop())

    const home = mkdtempSync(join(tmpdir(), 'jitssh-bench-home-'))
    stops.push(() => rmSync(home, { recursive: true, force: true }))
    mkdirSync(join(home, '.ssh'), { mode: 0o700 })
    const jitsshHome = join(home, '.jitssh')
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      JITSSH_HOME: jitsshHome,
      JITSSH_CREDENTIAL_STORE: 'file',
      NO_COLOR: '1',
      LANG: 'C.UTF-8',
    }

    await login(server.url, env, (url) => completeBrowserLogin(browser, url, { username: 'alice', password: TEST_PASSWORD }))
    await browser.close()
    const write = await runTool(process.execPath, [PACKAGED_JITSSH_BIN, 'ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'], { env: env as Record<string, string>, timeoutMs: 60_000 })
    if (write.code !== 0) throw new Error(`jitssh ssh-config failed:\n${write.stderr}`)
    const sshConfigPath = join(home, '.ssh', 'config')
    const common = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20']
    const jitsshArgv = ['-F', sshConfigPath, ...common, VM_HOST]
    // The first connection fetches the certificate; from here on it is warm.
    await runSshOnce(env, jitsshArgv, ['true'])
    log(`up: jitssh-server pid ${server.pid} at ${server.url}, sshd 127.0.0.1:${sshd.port}, logged in, certificate issued`)

    const bastion = await startSshd({
      trustedUserCaKeys: keys.userCaLine,
      extraConfig: ['AllowTcpForwarding yes'],
      hostCertificate: (hostKeyLine) => hostCertificate(keys, hostKeyLine, BASTION_ALIAS),
    })
    stops.push(() => bastion.stop().then(() => rmSync(bastion.dir, { recursive: true, force: true })))
    const relay = await startSocatRelay(sshd.port)
    stops.push(() => relay.stop())

    const keyPath = join(jitsshHome, 'certs', VM_HOST)
    const knownHosts = join(jitsshHome, 'known_hosts')
    const identity = [`    User ${user}`, `    IdentityFile ${keyPath}`, `    CertificateFile ${keyPath}-cert.pub`, '    IdentitiesOnly yes', `    UserKnownHostsFile ${knownHosts}`]
    // The jitssh certificate grants no port forwarding (policy decides extensions); the bastion hop uses its
    // own key with a certificate from the same CA that does, as an OpenSSH bastion user would have.
    const bastionKey = join(home, '.ssh', 'bastion_ed25519')
    const keygen = await runSshKeygen(['-q', '-t', 'ed25519', '-N', '', '-f', bastionKey])
    if (keygen.code !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr}`)
    writeFileSync(`${bastionKey}-cert.pub`, `${await userCertificate(keys, readFileSync(`${bastionKey}.pub`, 'utf8').trim(), user)}\n`)
    const bastionIdentity = [`    User ${user}`, `    IdentityFile ${bastionKey}`, `    CertificateFile ${bastionKey}-cert.pub`, '    IdentitiesOnly yes', `    UserKnownHostsFile ${knownHosts}`]
    const baselineConfig = join(home, '.ssh', 'baseline_config')
    writeFileSync(baselineConfig, [
      `Host ${DIRECT_HOST}`, '    HostName 127.0.0.1', `    Port ${sshd.port}`, `    HostKeyAlias ${VM_HOST}`, ...identity, '',
      `Host ${BASTION_ALIAS}`, '    HostName 127.0.0.1', `    Port ${bastion.port}`, `    HostKeyAlias ${BASTION_ALIAS}`, ...bastionIdentity, '',
      `Host ${JUMP_HOST}`, '    HostName 127.0.0.1', `    Port ${sshd.port}`, `    HostKeyAlias ${VM_HOST}`, `    ProxyJump ${BASTION_ALIAS}`, ...identity, '',
      `Host ${RELAY_HOST}`, `    ProxyCommand ${relay.proxyCommand}`, `    HostKeyAlias ${VM_HOST}`, ...identity, '',
    ].join('\n'))

    const sshVia = {
      jitssh: jitsshArgv,
      direct: ['-F', baselineConfig, ...common, DIRECT_HOST],
      proxyjump: ['-F', baselineConfig, ...common, JUMP_HOST],
      relay: ['-F', baselineConfig, ...common, RELAY_HOST],
    }
    for (const [name, argv] of Object.entries(sshVia)) {
      const said = await runSshOnce(env, argv, ['echo', 'ok'])
      if (said.trim() !== 'ok') throw new Error(`ssh via ${name} does not work`)
    }
    return { server, sshd, bastion, home, sshConfigPath, env, sshVia, stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}

/** `jitssh login --no-browser` as the user; `drive` completes the printed authorize URL in the browser. */
async function login(serverUrl: string, env: NodeJS.ProcessEnv, drive: (url: string) => Promise<unknown>): Promise<void> {
  const child = spawn(process.execPath, [PACKAGED_JITSSH_BIN, 'login', '--server', serverUrl, '--no-browser'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  const closed = once(child, 'close')
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
      const match = /(https?:\/\/\S+\/authorize\?\S+)/.exec(stderr)
      if (match) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error(`jitssh login exited before printing a URL:\n${stderr}`)))
  })
  try {
    await drive(url)
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
  const [code] = (await closed) as [number | null]
  if (code !== 0) throw new Error(`jitssh login failed (${code}):\n${stderr}`)
}

async function runSshOnce(env: NodeJS.ProcessEnv, argv: string[], command: string[]): Promise<string> {
  const result = await runTool(SSH_PATH, [...argv, ...command], { env: env as Record<string, string>, timeoutMs: 60_000 })
  if (result.code !== 0) throw new Error(`ssh ${argv.join(' ')} failed (${result.code}):\n${result.stderr}`)
  return result.stdout
}

async function certificateFor(keys: ServerKeys, type: 'user' | 'host', publicKeyLine: string, principal: string, extensions: string[]): Promise<string> {
  const now = BigInt(Math.floor(Date.now() / 1000))
  const certificate = await signCertificate(
    {
      type,
      publicKey: parsePublicKey(publicKeyLine),
      serial: randomBytes(8).readBigUInt64BE() || 1n,
      keyId: `jitssh-bench-${type}-${principal}`,
      principals: [principal],
      validAfter: now - 60n,
      validBefore: now + 24n * 3600n,
      criticalOptions: {},
      extensions,
    },
    type === 'user' ? keys.userCa : keys.hostCa,
  )
  return certificate.line
}

function hostCertificate(keys: ServerKeys, hostKeyLine: string, principal: string): Promise<string> {
  return certificateFor(keys, 'host', hostKeyLine, principal, [])
}

function userCertificate(keys: ServerKeys, publicKeyLine: string, principal: string): Promise<string> {
  return certificateFor(keys, 'user', publicKeyLine, principal, ['permit-port-forwarding'])
}
