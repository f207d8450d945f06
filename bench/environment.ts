/**
 * The benchmark's world, all on 127.0.0.1: the end-to-end stack (jitssh-server in this process, a target sshd
 * trusting the user CA, a temp HOME), `jitssh login` done once in headless Chromium, the jitssh ssh config
 * written, and a warm certificate on disk. For the baselines: a second sshd acting as an OpenSSH bastion
 * (ProxyJump), and an ssh config that reaches the target directly or through that bastion with the very
 * same key and certificate, verifying host keys through the same host CA.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signCertificate } from '../src/ssh/certificate.js'
import { parsePublicKey } from '../src/ssh/keys.js'
import { launchChromium } from '../test/helpers/chromium.js'
import { startStack, VM_HOST, type Stack } from '../test/helpers/stack.js'
import { runSshKeygen, runTool, SSH_PATH, startSshd, type RunningSshd } from '../test/helpers/sshd.js'

export const BASTION_ALIAS = 'bastion.example.com'
/** ssh host names in the baseline config. */
export const DIRECT_HOST = 'bench-direct'
export const JUMP_HOST = 'bench-jump'

export interface BenchEnvironment {
  stack: Stack
  bastion: RunningSshd
  /** The environment every ssh / jitssh child gets: the temp HOME and nothing of the developer's own. */
  env: NodeJS.ProcessEnv
  /** `ssh` argv (without the command) through jitssh, directly, and through the OpenSSH bastion. */
  sshVia: { jitssh: string[]; direct: string[]; proxyjump: string[] }
  certPath: string
  keyPath: string
  stop(): Promise<void>
}

export async function startBenchEnvironment(log: (line: string) => void): Promise<BenchEnvironment> {
  const [stack, browser] = await Promise.all([
    startStack({
      // root logs in on the sshd; an hour-long certificate outlives the whole run.
      policy: [{ name: 'bench', groups: ['dev'], hosts: [VM_HOST], principals: [process.env.USER ?? 'root'], max_ttl: '1h' }],
    }),
    launchChromium(),
  ])
  const stops: Array<() => Promise<unknown>> = [() => stack.stop()]
  try {
    const login = await stack.loginWithBrowser(browser).finally(() => browser.close())
    if (login.code !== 0) throw new Error(`jitssh login failed:\n${login.stderr}`)
    const write = await stack.jitssh(['ssh-config', '--hostname', VM_HOST, '--short-lived-cert', '--write'])
    if (write.code !== 0) throw new Error(`jitssh ssh-config failed:\n${write.stderr}`)
    // The first connection fetches the certificate; from here on it is warm.
    const first = await stack.ssh([VM_HOST, 'true'])
    if (first.code !== 0) throw new Error(`first ssh through jitssh failed:\n${first.stderr}`)
    log(`stack up: server ${stack.server.url}, sshd 127.0.0.1:${stack.sshd.port}, certificate issued`)

    const bastion = await startSshd({
      trustedUserCaKeys: stack.keys.userCaLine,
      extraConfig: ['AllowTcpForwarding yes', 'PermitTunnel no'],
      hostCertificate: (hostKeyLine) => hostCertificate(stack, hostKeyLine, BASTION_ALIAS),
    })
    stops.push(() => bastion.stop())

    const jitsshHome = stack.env.JITSSH_HOME!
    const keyPath = join(jitsshHome, 'certs', VM_HOST)
    const certPath = `${keyPath}-cert.pub`
    const knownHosts = join(jitsshHome, 'known_hosts')
    const user = stack.sshd.user
    const identity = [`    User ${user}`, `    IdentityFile ${keyPath}`, `    CertificateFile ${certPath}`, '    IdentitiesOnly yes', `    UserKnownHostsFile ${knownHosts}`]
    // The jitssh certificate grants no port forwarding (policy decides extensions); the bastion hop uses its
    // own key with a certificate from the same CA that does, as an OpenSSH bastion user would have.
    const bastionKey = join(stack.home, '.ssh', 'bastion_ed25519')
    const keygen = await runSshKeygen(['-q', '-t', 'ed25519', '-N', '', '-f', bastionKey])
    if (keygen.code !== 0) throw new Error(`ssh-keygen failed: ${keygen.stderr}`)
    writeFileSync(`${bastionKey}-cert.pub`, `${userCertificate(stack, readFileSync(`${bastionKey}.pub`, 'utf8').trim(), user)}\n`)
    const bastionIdentity = [`    User ${user}`, `    IdentityFile ${bastionKey}`, `    CertificateFile ${bastionKey}-cert.pub`, '    IdentitiesOnly yes', `    UserKnownHostsFile ${knownHosts}`]
    const baselineConfig = join(stack.home, '.ssh', 'baseline_config')
    writeFileSync(baselineConfig, [
      `Host ${DIRECT_HOST}`, '    HostName 127.0.0.1', `    Port ${stack.sshd.port}`, `    HostKeyAlias ${VM_HOST}`, ...identity, '',
      `Host ${BASTION_ALIAS}`, '    HostName 127.0.0.1', `    Port ${bastion.port}`, `    HostKeyAlias ${BASTION_ALIAS}`, ...bastionIdentity, '',
      `Host ${JUMP_HOST}`, '    HostName 127.0.0.1', `    Port ${stack.sshd.port}`, `    HostKeyAlias ${VM_HOST}`, `    ProxyJump ${BASTION_ALIAS}`, ...identity, '',
    ].join('\n'))

    const common = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20']
    const env: NodeJS.ProcessEnv = { ...stack.env, SSH_AUTH_SOCK: '' }
    const bench: BenchEnvironment = {
      stack,
      bastion,
      env,
      sshVia: {
        jitssh: ['-F', stack.sshConfigPath, ...common, VM_HOST],
        direct: ['-F', baselineConfig, ...common, DIRECT_HOST],
        proxyjump: ['-F', baselineConfig, ...common, JUMP_HOST],
      },
      certPath,
      keyPath,
      async stop() {
        await Promise.allSettled(stops.map((stop) => stop()))
      },
    }
    for (const [name, argv] of Object.entries(bench.sshVia)) {
      const probe = await runSshOnce(env, argv, ['echo', 'ok'])
      if (probe.trim() !== 'ok') throw new Error(`ssh ${name} does not work`)
    }
    return bench
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()))
    throw error
  }
}

async function runSshOnce(env: NodeJS.ProcessEnv, argv: string[], command: string[]): Promise<string> {
  const result = await runTool(SSH_PATH, [...argv, ...command], { env: env as Record<string, string>, timeoutMs: 30_000 })
  if (result.code !== 0) throw new Error(`ssh ${argv.join(' ')} failed (${result.code}):\n${result.stderr}`)
  return result.stdout
}

function hostCertificate(stack: Stack, hostKeyLine: string, principal: string): string {
  const now = BigInt(Math.floor(Date.now() / 1000))
  return signCertificate(
    {
      type: 'host',
      publicKey: parsePublicKey(hostKeyLine),
      serial: randomBytes(8).readBigUInt64BE() || 1n,
      keyId: `jitssh-bench-${principal}`,
      principals: [principal],
      validAfter: now - 60n,
      validBefore: now + 24n * 3600n,
      criticalOptions: {},
      extensions: [],
    },
    stack.keys.hostCa,
  ).line
}

function userCertificate(stack: Stack, publicKeyLine: string, principal: string): string {
  const now = BigInt(Math.floor(Date.now() / 1000))
  return signCertificate(
    {
      type: 'user',
      publicKey: parsePublicKey(publicKeyLine),
      serial: randomBytes(8).readBigUInt64BE() || 1n,
      keyId: 'jitssh-bench-bastion-user',
      principals: [principal],
      validAfter: now - 60n,
      validBefore: now + 24n * 3600n,
      criticalOptions: {},
      extensions: ['permit-port-forwarding'],
    },
    stack.keys.userCa,
  ).line
}
