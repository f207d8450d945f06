// The doctor's checks of this machine: the OpenSSH version, where `ssh -G` goes, the certificate on disk, the
// agent, and the host CA line ssh needs to trust the targets.
import { runProgram } from '../../shared/child-process.js'
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { parseCertificate, type SshCertificate } from '../../ssh/certificate.js'
import { parsePrivateKey } from '../../ssh/keys.js'
import type { ClientContext } from '../context.js'
import { certPaths, type JitsshPaths } from '../files/paths.js'
import { principalAllows } from '../files/cert-freshness.js'
import type { SshRoute } from '../ssh-config/route-check.js'
import { isOurProxyCommand, routeProblem } from '../ssh-config/route-problem.js'
import type { Discovery } from '../server-answers.js'
import { fail, pass, warn, type CheckResult } from './report.js'

/** OpenSSH 8.2 or later: the block needs `Match final`. */
export async function checkOpenSsh(ctx: ClientContext): Promise<CheckResult> {
  const result = await runProgram('ssh', ['-V'], ctx.env, 10_000)
  if (result.missing) return fail('openssh', 'openssh.missing', 'no ssh on PATH', 'install the OpenSSH client (8.2 or later)')
  const banner = `${result.stderr}${result.stdout}`.trim().split('\n')[0] ?? ''
  const version = /OpenSSH[_\w]*?_(\d+)\.(\d+)/.exec(banner)
  if (version === null) return warn('openssh', 'openssh.unknown', `ssh -V says "${banner.slice(0, 80)}": not OpenSSH?`, 'jitssh needs OpenSSH 8.2 or later (Match final)')
  const [major, minor] = [Number(version[1]), Number(version[2])]
  if (major < 8 || (major === 8 && minor < 2)) {
    return fail('openssh', 'openssh.old', `${banner.split(/[ ,]/)[0]} is older than 8.2: it rejects "Match final", and with it the whole config file`, 'upgrade the OpenSSH client to 8.2 or later')
  }
  return pass('openssh', `${banner.split(/[ ,]/)[0]} (8.2 or later: Match final works)`)
}

/**
 * The absolute paths a command line names (its programs and scripts), from POSIX shell words: single quotes
 * as jitssh writes them, plain words otherwise. Enough to tell whether the block's programs are still there.
 */
export function absolutePaths(command: string): string[] {
  const words = command.match(/'(?:[^']|'\\'')*'|[^\s']+/g) ?? []
  return words.map((word) => (word.startsWith("'") ? word.slice(1, -1).replace(/'\\''/g, "'") : word)).filter((word) => word.startsWith('/') && !word.includes('%'))
}

/** `ssh -G host` goes through jitssh's ProxyCommand (and, its exec succeeding, its certificate). */
export function checkRoute(route: SshRoute, server: string, host: string, certsDir: string): CheckResult {
  // A block written before Node or jitssh moved (an nvm upgrade, a reinstall) names programs that are gone.
  const commands = [...(route.proxyCommand !== null && isOurProxyCommand(route.proxyCommand, server) ? [route.proxyCommand] : []), ...route.execCommands.filter((c) => c.includes(' ssh-gen '))]
  for (const path of commands.flatMap(absolutePaths)) {
    if (!existsSync(path)) {
      return fail('route', 'route.missing_program', `the jitssh block for ${host} runs ${path}, which does not exist (Node or jitssh moved or was upgraded?)`, `jitssh ssh-config --hostname ${host} --write (writes the block with the current paths)`)
    }
  }
  const problem = routeProblem(route, server)
  if (problem !== null) {
    if (route.proxyCommand === null && route.proxyJump === null && problem.source === null) {
      return fail('route', 'route.no_block', `ssh ${host} does not go through jitssh: no jitssh block matches it`, `jitssh ssh-config --hostname ${host} --write`)
    }
    return fail('route', 'route.shadowed', `ssh ${host} would not go through jitssh: ${problem.because}`, problem.fix)
  }
  const ours = route.certificateFiles.some((file) => file.endsWith('/%h-cert.pub') || file.includes(`${certsDir}/`))
  if (!ours) {
    return fail('route', 'route.no_certificate', `ssh ${host} goes through jitssh's ProxyCommand but would not use its certificate (its Match exec section does not apply)`, `jitssh ssh-config --hostname ${host} --write`)
  }
  const renamed = route.hostname.toLowerCase() !== host.toLowerCase() ? ` (${route.hostname})` : ''
  return pass('route', `ssh ${host}${renamed} goes through jitssh's ProxyCommand with its certificate, as ${route.user}`)
}

function readCertificate(path: string): SshCertificate | null {
  try {
    return parseCertificate(readFileSync(path, 'utf8'))
  } catch {
    return null
  }
}

/** The certificate on disk: there, valid now, for the login ssh will use, for its key, from the user CA, key 0600. */
export function checkCertificate(ctx: ClientContext, paths: JitsshPaths, host: string, login: string, discovery: Discovery | null): CheckResult {
  const files = certPaths(paths, host)
  try {
    accessSync(files.cert, constants.R_OK)
  } catch {
    return warn('certificate', 'certificate.none', `no certificate for ${host} yet`, 'ssh-gen gets one on the next ssh (the checks below show whether it may)')
  }
  const certificate = readCertificate(files.cert)
  if (certificate === null) return fail('certificate', 'certificate.unreadable', `${files.cert} is not a certificate jitssh can read`, `delete it (${files.cert}): ssh-gen makes a new one`)
  const caBase64 = discovery?.jitssh.user_ca_public_key.trim().split(/\s+/)[1]
  if (caBase64 !== undefined && certificate.signatureKey.blob.toString('base64') !== caBase64) {
    return fail('certificate', 'certificate.other_ca', `the certificate for ${host} is not from the server's user CA (another server's, or the CA was rotated)`, 'jitssh login (a new login replaces the certificates)')
  }
  let key
  try {
    key = parsePrivateKey(readFileSync(files.key, 'utf8'))
  } catch {
    return fail('certificate', 'certificate.no_key', `the key ${files.key} of the certificate is missing or unreadable`, `delete ${files.cert}: ssh-gen makes a new key and certificate`)
  }
  if (!key.publicKey.blob.equals(certificate.publicKey.blob)) {
    return fail('certificate', 'certificate.key_mismatch', `the certificate for ${host} is for another key than ${files.key}`, `delete ${files.cert}: ssh-gen makes a new key and certificate`)
  }
  const mode = statSync(files.key).mode & 0o777
  if (ctx.platform !== 'win32' && (mode & 0o077) !== 0) {
    return fail('certificate', 'certificate.key_mode', `${files.key} has mode ${mode.toString(8).padStart(4, '0')}: ssh refuses a private key others can read`, `chmod 600 ${files.key}`)
  }
  const principals = certificate.principals
  if (!principalAllows(principals, login, host)) {
    const logins = principals.map((p) => p.replace(`@${host}`, ''))
    return fail('certificate', 'certificate.principal', `the certificate for ${host} allows ${logins.join(', ')}, but ssh logs in as ${login}`, `ssh ${logins[0]}@${host} (or User ${logins[0]} for it in your ssh config)`)
  }
  const now = ctx.now() / 1000
  if (Number(certificate.validBefore) <= now) {
    return warn('certificate', 'certificate.expired', `the certificate for ${host} (as ${principals.join(', ')}) has expired`, 'ssh-gen replaces it on the next ssh')
  }
  if (Number(certificate.validAfter) > now) {
    return warn('certificate', 'certificate.not_yet_valid', `the certificate for ${host} is not valid yet by this machine's clock`, "check this machine's clock")
  }
  const minutes = Math.round((Number(certificate.validBefore) - now) / 60)
  return pass('certificate', `valid for another ${minutes} min, for ${principals.join(', ')}, its key beside it (0600), from the server's user CA`)
}

/** The agent's keys against sshd's MaxAuthTries (6 by default): too many, tried before the certificate, lock it out. */
export async function checkAgent(ctx: ClientContext, route: SshRoute | null): Promise<CheckResult> {
  if (!ctx.env.SSH_AUTH_SOCK) return pass('agent', 'no ssh-agent: ssh offers the jitssh certificate first')
  const listed = await runProgram('ssh-add', ['-l'], ctx.env, 10_000)
  const keys = listed.code === 0 ? listed.stdout.split('\n').filter((line) => line.trim() !== '').length : 0
  if (route?.identitiesOnly === true) return pass('agent', `the agent holds ${keys} key${keys === 1 ? '' : 's'}; IdentitiesOnly: ssh offers only the jitssh certificate for this host`)
  if (keys >= 6) {
    return warn('agent', 'agent.too_many_keys', `the agent holds ${keys} keys and sshd allows 6 tries by default (MaxAuthTries): it may refuse before the certificate is offered`, 'IdentitiesOnly yes for the host (jitssh\'s block sets it when its certificate applies), or fewer keys in the agent (ssh-add -D)')
  }
  return pass('agent', `the agent holds ${keys} key${keys === 1 ? '' : 's'} (sshd allows 6 tries by default)`)
}

/** The host CA's `@cert-authority` line, in a known_hosts file ssh reads for the host. */
export function checkKnownHosts(ctx: ClientContext, paths: JitsshPaths, server: string, discovery: Discovery | null, route: SshRoute | null): CheckResult {
  let text = ''
  try {
    text = readFileSync(paths.knownHosts, 'utf8')
  } catch {
    // missing: below
  }
  const line = text.split('\n').find((l) => l.startsWith('@cert-authority ') && l.endsWith(` jitssh:${server}`))
  if (line === undefined) return fail('known_hosts', 'known_hosts.missing', `${paths.knownHosts} has no @cert-authority line for ${server}: ssh cannot tell the targets' host certificates from impostors`, 'jitssh login (it writes the line)')
  const caKey = discovery?.jitssh.host_ca_public_key.trim().split(/\s+/).slice(0, 2).join(' ')
  if (caKey !== undefined && !line.includes(` ${caKey} `)) {
    return fail('known_hosts', 'known_hosts.stale', `the @cert-authority line for ${server} in ${paths.knownHosts} names another host CA than the server's`, 'jitssh login --force (it rewrites the line)')
  }
  if (route !== null) {
    const home = ctx.sshHomedir || homedir()
    const read = route.userKnownHostsFiles.map((file) => file.replace(/^~(?=\/)/, home))
    if (!read.includes(paths.knownHosts)) {
      return warn('known_hosts', 'known_hosts.unused', `ssh does not read ${paths.knownHosts} for this host (UserKnownHostsFile: ${route.userKnownHostsFiles.join(' ')})`, 'an earlier UserKnownHostsFile wins over the block\'s: add the file to it')
    }
  }
  return pass('known_hosts', `@cert-authority line for the server's host CA in ${paths.knownHosts}${route !== null ? ', which ssh reads for this host' : ''}`)
}

