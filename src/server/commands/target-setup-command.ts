import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { JitsshError } from '../../shared/errors.js'
import { DEFAULT_HOST_CERTIFICATE_VALIDITY, hostCertificateNames, parseHostCertificateValidity } from '../ca/host-certificate.js'
import { loadServerKeys } from '../ca/server-keys.js'
import { hostCertificateFileName, renderTargetSetup } from '../ca/target-setup.js'
import { loadConfig } from '../config/load-config.js'
import type { ServerConfig } from '../config/types.js'
import { ruleMatchesHost } from '../policy/policy.js'
import { buildRevocationKrl } from '../revocation/revocation-krl.js'
import { openStore } from '../store/open-store.js'
import { writeFileAtomically } from './atomic-file.js'
import { issueHostCertificate, readHostPublicKey } from './host-cert-command.js'
import { action, configCommand, type CliRun, type CommandRun, type ServerCliIo } from './io.js'

export interface TargetSetupOptions {
  config: string
  hostname: string[]
  key?: string
  validity: string
  sshDir: string
  sshdVersion?: string
  out?: string
}

export function registerTargetSetup(program: Command, cli: CliRun, run: CommandRun<TargetSetupOptions> = targetSetupCommand): void {
  configCommand(program, 'target-setup', 'write (or print) what a target host needs: the user CA, the KRL and its refresh, sshd_config lines, a host certificate')
    .requiredOption('--hostname <name>', 'a name of the host as in targets (repeat for more)', (name: string, names: string[] | undefined) => [...(names ?? []), name])
    .option('--key <file>', "the host's public key (e.g. a copy of /etc/ssh/ssh_host_ed25519_key.pub): also sign a host certificate")
    .option('--validity <duration>', 'the host certificate\'s validity', DEFAULT_HOST_CERTIFICATE_VALIDITY)
    .option('--ssh-dir <dir>', 'where the files will live on the target', '/etc/ssh')
    .option('--sshd-version <x.y>', "the target's OpenSSH version (sshd -V): from 9.8, PerSourcePenaltyExemptList is written active")
    .option('--out <dir>', 'write the files into this directory (default: print them)')
    .action(action(cli, run))
}

export async function targetSetupCommand(io: ServerCliIo, options: TargetSetupOptions): Promise<number> {
  const hostnames = hostCertificateNames(options.hostname)
  const version = options.sshdVersion === undefined ? undefined : /^(\d+)\.(\d+)/.exec(options.sshdVersion)
  if (options.sshdVersion !== undefined && !version) throw new JitsshError('ERR_USAGE', `--sshd-version: expected a version like 9.8, not ${JSON.stringify(options.sshdVersion.slice(0, 20))}`)
  const config = loadConfig(options.config)
  const unknown = hostnames.filter((name) => !config.targets.has(name))
  if (unknown.length > 0) io.stderr.write(`warning: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in targets: the bastion will not connect there until it is\n`)
  if (!config.publicUrl) throw new JitsshError('ERR_INVALID_CONFIG', `${config.source}: public_url is required for target-setup (the KRL is fetched from it)`)
  const keys = await loadServerKeys(config.keysDir)
  const store = await openStore(config.storage, { listenForRevocations: false, source: config.source })
  let krl: Buffer
  try {
    krl = (await buildRevocationKrl(store, keys.userCa.publicKey, Date.now())).bytes
  } finally {
    await store.close()
  }
  let hostCertificate: { line: string; fileName: string } | undefined
  if (options.key !== undefined) {
    const publicKey = readHostPublicKey(options.key)
    const validityMs = parseHostCertificateValidity(options.validity)
    const certificateName = hostCertificateFileName(options.key)
    const out = options.out === undefined ? '-' : join(resolve(options.out), certificateName)
    const certificate = await issueHostCertificate(io, config, { hostnames, publicKey, validityMs, out })
    hostCertificate = { line: certificate.line, fileName: certificateName }
  }
  const files = renderTargetSetup({
    hostnames, publicUrl: config.publicUrl, userCaLine: keys.userCaLine, krl, hostCertificate,
    bastionAddresses: config.certificates.sourceAddress, directAccess: config.certificates.directAccess, namedLogins: namedLoginsOf(config, hostnames),
    sshDir: options.sshDir, sshdVersion: version ? [Number(version[1]), Number(version[2])] : undefined,
    renewCommand: options.key === undefined ? undefined
      : `jitssh-server host-cert --config ${resolve(options.config)} ${hostnames.map((name) => `--hostname ${name}`).join(' ')} --key ${resolve(options.key)} --validity ${options.validity} --out ${join(dirname(resolve(options.key)), hostCertificateFileName(options.key))}`,
    generatedAt: new Date(),
  })
  if (options.out === undefined) {
    for (const file of files) {
      io.stdout.write(`==> ${file.name} <== ${file.purpose}\n`)
      io.stdout.write(typeof file.content === 'string' ? file.content : `(binary: write it with --out, or fetch ${config.publicUrl}/v1/ssh/krl)\n`)
      io.stdout.write('\n')
    }
    return 0
  }
  const dir = resolve(options.out)
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  for (const file of files) {
    mkdirSync(dirname(join(dir, file.name)), { recursive: true, mode: 0o755 })
    writeFileAtomically(join(dir, file.name), Buffer.from(file.content), file.mode)
  }
  io.stderr.write(`wrote to ${dir}:\n${files.map((file) => `  ${file.name.padEnd(28)} ${file.purpose}\n`).join('')}`)
  io.stderr.write(`next: copy them to ${hostnames[0]}:${options.sshDir}, put jitssh.conf in sshd_config.d, run sshd -t and reload sshd; run jitssh-krl-refresh from cron\n`)
  return 0
}

/**
 * The logins the allow rules reaching these hosts grant, when every one of them is a literal account name;
 * undefined when any is derived from the person ({email_local}, {username}) or no rule reaches the host.
 */
function namedLoginsOf(config: ServerConfig, hostnames: string[]): string[] | undefined {
  const principals = config.policy
    .filter((rule) => rule.effect === 'allow' && hostnames.some((host) => ruleMatchesHost(rule, host)))
    .flatMap((rule) => rule.principals)
  if (principals.length === 0 || principals.some((principal) => principal.includes('{'))) return undefined
  return [...new Set(principals)].sort()
}
