import { readFileSync, statSync } from 'node:fs'
import { userInfo } from 'node:os'
import { dirname, resolve } from 'node:path'
import { JitsshError } from '../../shared/errors.js'
import { SshFormatError } from '../../ssh/errors.js'
import { fingerprint, parsePublicKey, type SshPublicKey } from '../../ssh/keys.js'
import { assertSameChainKey, loadAuditKeys } from '../audit/audit-keys.js'
import { AuditLog } from '../audit/audit-log.js'
import { signPlan } from '../ca/certificate-plan.js'
import { DEFAULT_HOST_CERTIFICATE_VALIDITY, hostCertificateNames, parseHostCertificateValidity, planHostCertificate } from '../ca/host-certificate.js'
import { loadServerKeys } from '../ca/server-keys.js'
import { loadConfig } from '../config/load-config.js'
import type { ServerConfig } from '../config/types.js'
import type { SshCertificate } from '../../ssh/certificate.js'
import { openStore } from '../store/open-store.js'
import { writeFileAtomically } from './atomic-file.js'
import type { Command } from 'commander'
import { action, configCommand, type CliRun, type CommandRun, type ServerCliIo } from './io.js'

export interface HostCertOptions {
  config: string
  hostname: string[]
  key: string
  validity: string
  /** A path, or '-' for stdout; default: next to the key, as ssh-keygen names it. */
  out?: string
}

export function registerHostCert(program: Command, cli: CliRun, run: CommandRun<HostCertOptions> = hostCertCommand): void {
  configCommand(program, 'host-cert', "sign a host's public key with the host CA as an OpenSSH host certificate; prints the sshd_config line")
    .requiredOption('--hostname <name>', 'a name clients connect to (repeat for more; the first names the key id)', (name: string, names: string[] | undefined) => [...(names ?? []), name])
    .requiredOption('--key <file>', "the host's public key, e.g. /etc/ssh/ssh_host_ed25519_key.pub")
    .option('--validity <duration>', 'how long it is valid, e.g. 52w, 365d (at most 5 years)', DEFAULT_HOST_CERTIFICATE_VALIDITY)
    .option('--out <file>', "where to write it ('-' for stdout; default: <key without .pub>-cert.pub)")
    .action(action(cli, run))
}

/** A public key line is far shorter; anything bigger is not one. */
const MAX_KEY_FILE_BYTES = 16 * 1024

/** `ssh_host_ed25519_key.pub` → `ssh_host_ed25519_key-cert.pub`, as `ssh-keygen -s` names it. */
export function defaultHostCertificatePath(keyPath: string): string {
  return `${keyPath.endsWith('.pub') ? keyPath.slice(0, -4) : keyPath}-cert.pub`
}

function keyError(path: string, why: string): JitsshError {
  return new JitsshError('ERR_INVALID_KEY', `${path}: ${why}`)
}

/** The host's public key (Ed25519, ECDSA P-256 or RSA of 2048+ bits) from a `.pub` file. */
export function readHostPublicKey(path: string): SshPublicKey {
  let size: number
  try {
    const stat = statSync(path)
    if (!stat.isFile()) throw keyError(path, 'not a file (expected a host public key such as /etc/ssh/ssh_host_ed25519_key.pub)')
    size = stat.size
  } catch (error) {
    if (error instanceof JitsshError) throw error
    throw keyError(path, `cannot read the host public key (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  if (size > MAX_KEY_FILE_BYTES) throw keyError(path, `${size} bytes is too large for a public key file`)
  const text = readFileSync(path, 'utf8')
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw keyError(path, `this is a private key: pass its public key (${path}.pub) instead`)
  try {
    return parsePublicKey(text, { allowRsa: true })
  } catch (error) {
    if (error instanceof SshFormatError) throw keyError(path, error.message)
    throw error
  }
}

/** A path as an sshd_config argument: bare when plain, else double-quoted; undefined when sshd_config cannot hold it. */
function sshdConfigArgument(path: string): string | undefined {
  if (/^[A-Za-z0-9._/+@:,=-]+$/.test(path)) return path
  if (/["\\\x00-\x1f\x7f]/.test(path)) return undefined
  return `"${path}"`
}

function checkOutputDirectory(out: string): void {
  const dir = dirname(out)
  let isDirectory = false
  try {
    isDirectory = statSync(dir).isDirectory()
  } catch {
    isDirectory = false
  }
  if (!isDirectory) throw new JitsshError('ERR_USAGE', `cannot write ${out}: ${dir} is not a directory`)
}

function osUser(): string | null {
  try {
    return userInfo().username
  } catch {
    return null
  }
}

/**
 * `jitssh-server host-cert`: signs a host's public key with the host CA of keys_dir, so clients that trust
 * `@cert-authority * <host CA>` (jitssh login writes that line) connect without a host key prompt. The
 * certificate is audited (`host_cert.sign`, with the names and serial) before it is written out.
 */
export async function hostCertCommand(io: ServerCliIo, options: HostCertOptions): Promise<number> {
  const hostnames = hostCertificateNames(options.hostname)
  const validityMs = parseHostCertificateValidity(options.validity)
  const publicKey = readHostPublicKey(options.key)
  const toStdout = options.out === '-'
  const out = resolve(toStdout ? defaultHostCertificatePath(options.key) : (options.out ?? defaultHostCertificatePath(options.key)))
  if (!toStdout) checkOutputDirectory(out)

  const config = loadConfig(options.config)
  const certificate = await issueHostCertificate(io, config, { hostnames, publicKey, validityMs, out: toStdout ? '-' : out })
  const validBefore = new Date(Number(certificate.validBefore) * 1000).toISOString()

  const summary = `host certificate for ${hostnames.join(', ')} (serial ${certificate.serial}, valid until ${validBefore})`
  if (toStdout) {
    io.stdout.write(`${certificate.line}\n`)
  } else {
    try {
      writeFileAtomically(out, Buffer.from(`${certificate.line}\n`), 0o644)
    } catch (error) {
      throw new JitsshError('ERR_SERVER', `cannot write ${out} (${(error as NodeJS.ErrnoException).code ?? 'error'}); the certificate was signed and audited (serial ${certificate.serial})`)
    }
  }
  const argument = sshdConfigArgument(out)
  io.stderr.write(toStdout ? `${summary}\nsave it as ${out} and add to sshd_config (then reload sshd):\n` : `wrote ${out}: ${summary}\nadd to sshd_config (then reload sshd):\n`)
  io.stderr.write(argument === undefined ? `(${out} cannot be written in sshd_config: move it to a plain path and point HostCertificate at it)\n` : `HostCertificate ${argument}\n`)
  return 0
}

/** Signs a host key with the host CA and audits it (`host_cert.sign`) before anyone sees the certificate. */
export async function issueHostCertificate(
  io: ServerCliIo, config: ServerConfig, input: { hostnames: string[]; publicKey: SshPublicKey; validityMs: number; out: string },
): Promise<SshCertificate> {
  const keys = await loadServerKeys(config.keysDir)
  const plan = planHostCertificate({ publicKey: input.publicKey, hostnames: input.hostnames, nowMs: Date.now(), validityMs: input.validityMs })
  const certificate = await signPlan(plan, keys.hostCa, input.publicKey.comment)
  const store = await openStore(config.storage, { listenForRevocations: false, source: config.source })
  try {
    const auditKeys = loadAuditKeys(config.keysDir, (path) => io.stderr.write(`created ${path} (mode 0600): it was missing\n`))
    await assertSameChainKey(store.audit, auditKeys.chain, config.keysDir)
    await new AuditLog(store.audit, store.certificates, store.replicas, auditKeys.chain, Date.now).record({
      type: 'host_cert.sign', outcome: 'ok', host: input.hostnames[0],
      detail: {
        serial: certificate.serial.toString(), key_id: certificate.keyId, principals: certificate.principals,
        fingerprint: fingerprint(input.publicKey), key_type: input.publicKey.type, ca_fingerprint: fingerprint(keys.hostCa.publicKey),
        valid_after: Number(certificate.validAfter), valid_before: Number(certificate.validBefore), out: input.out, by: osUser(),
      },
    })
  } finally {
    await store.close()
  }
  return certificate
}
