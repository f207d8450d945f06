// Renders jitssh's block for one host pattern (DESIGN.md "The user's path"): two `Match final host`
// sections between marker lines. The first carries the ProxyCommand and nothing that can fail, so a failed
// certificate step never leaves ssh connecting directly; the second runs `ssh-gen` and, when it succeeds,
// points ssh at the fresh key and certificate. A closing `Match all` puts whatever follows back in the
// global context, so lines a user later adds below the block are not silently scoped to our host.
import {
  assertNoControlCharacters,
  escapeSshPercent,
  quoteArg,
  quotePosixArgForMatchExec,
  win32ArgForMatchExec,
  type Platform,
} from './command-quoting.js'
import { SshFormatError } from './errors.js'
import { describeForMessage, parseHostSpec } from './host-spec.js'
import { assertArgvSplitAccepts, assertConfigWords } from './ssh-config-tokenizers.js'

export interface ManagedBlockInput {
  /** Validated host name or pattern (HostSpec.host). */
  hostPattern: string
  /** argv prefix of our program: [absolute node, absolute script]. */
  program: string[]
  server: string
  /** Directory for keys and certificates as ssh should see it, e.g. `~/.jitssh/certs`. */
  certsDir: string
  platform: Platform
  /** A known_hosts file with the host CA's @cert-authority line, trusted alongside ~/.ssh/known_hosts. */
  knownHostsFile?: string
  /**
   * The argv prefix for the `Match exec` line when it must differ from `program`: on Windows that line
   * cannot quote, so pass space-free (8.3 short) paths here. Defaults to `program`.
   */
  execProgram?: string[]
  /** `ssh-gen --ttl`: a certificate lifetime to ask for (`15m`); the policy caps it. */
  ttl?: string
  /**
   * The login to set as `User` (the person's only login on this host, from the server's policy): a plain
   * `ssh host` then logs in as it. A `user@` on the command line, or a `User` ssh read before, still wins.
   */
  user?: string
}

export type Eol = '\n' | '\r\n'

export const MARKER_START_PREFIX = '# >>> jitssh '
export const MARKER_END_PREFIX = '# <<< jitssh '

export function startMarker(hostPattern: string): string {
  return `${MARKER_START_PREFIX}${hostPattern} >>>`
}

export function endMarker(hostPattern: string): string {
  return `${MARKER_END_PREFIX}${hostPattern} <<<`
}

function configError(message: string): SshFormatError {
  return new SshFormatError('ERR_INVALID_CONFIG', message)
}

/** The server URL goes into both command lines: http(s), a host, an optional port and a plain path only. */
export function checkServerUrl(server: string): string {
  const bad = (why: string) => configError(`invalid server URL ${describeForMessage(server)}: ${why}`)
  if (!/^[A-Za-z0-9._~:/[\]-]+$/.test(server)) {
    throw bad('only letters, digits and . _ ~ : / [ ] - may appear (no spaces, quotes, %, query or fragment)')
  }
  let url: URL
  try {
    url = new URL(server)
  } catch {
    throw bad('not a URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('must start with https:// (or http://)')
  if (url.username !== '' || url.password !== '' || url.hostname === '') throw bad('needs a host and no credentials')
  if (!server.toLowerCase().startsWith(`${url.protocol}//`)) throw bad('must start with https:// (or http://)')
  return server
}

function isAbsolute(path: string, platform: Platform): boolean {
  return platform === 'win32' ? /^([A-Za-z]:[\\/]|\\\\)/.test(path) : path.startsWith('/')
}

export function checkProgram(program: readonly string[], platform: Platform, what: string): void {
  if (!Array.isArray(program) || program.length === 0 || program.some((arg) => typeof arg !== 'string' || arg === '')) {
    throw configError(`${what} must be a non-empty list of non-empty arguments`)
  }
  if (!isAbsolute(program[0] as string, platform)) {
    throw configError(`${what}[0] must be an absolute path, got ${describeForMessage(program[0] as string)}`)
  }
  for (const arg of program) {
    assertNoControlCharacters(arg, `${what} argument ${describeForMessage(arg)}`)
    if (platform === 'posix' && arg.includes('\\')) {
      throw configError(`${what} argument ${describeForMessage(arg)} contains a backslash, which ssh_config would read as an escape`)
    }
    if (platform === 'win32' && arg.includes('"')) {
      throw configError(`${what} argument ${describeForMessage(arg)} contains a double quote, which Windows paths cannot have`)
    }
  }
}

/**
 * A file path as one ssh_config word (IdentityFile, CertificateFile, UserKnownHostsFile): `%` doubled,
 * Windows backslashes turned into `/` (Win32-OpenSSH accepts both; a backslash would be an escape to
 * argv_split), double-quoted when it has spaces or quotes. `"`, `\` on POSIX and `${` are refused.
 */
export function configPathWord(path: string, platform: Platform, what: string): string {
  assertNoControlCharacters(path, what)
  if (path === '') throw configError(`${what} is empty`)
  if (path.includes('"')) throw configError(`${what} ${describeForMessage(path)} contains a double quote`)
  if (path.includes('${')) throw configError(`${what} ${describeForMessage(path)} contains "\${", which ssh would expand`)
  if (platform === 'posix' && path.includes('\\')) {
    throw configError(`${what} ${describeForMessage(path)} contains a backslash, which ssh_config would read as an escape`)
  }
  const word = escapeSshPercent(platform === 'win32' ? path.replaceAll('\\', '/') : path)
  return /^[A-Za-z0-9_@%+:,./~-]+$/.test(word) ? word : `"${word}"`
}

/**
 * `%h` as a shell word. Quoted on POSIX: before OpenSSH 9.6 a host name typed on the command line could
 * carry shell metacharacters into %h (CVE-2023-51385), and a wildcard pattern would let it through to us.
 * (cmd.exe has no quoting we can write inside Match exec; Windows relies on OpenSSH's own check.)
 */
const hostTokenFor = (platform: Platform) => (platform === 'posix' ? "'%h'" : '%h')

/** The program words of the ProxyCommand line: always quoted on POSIX; on Windows the program always, the rest when needed. */
export function proxyProgramWords(program: readonly string[], platform: Platform): string {
  return program.map((arg, index) => escapeSshPercent(quoteArg(arg, platform, index === 0 || platform === 'posix'))).join(' ')
}

/** The program words inside `Match exec "..."`: no `"` can appear there (see command-quoting.ts). */
export function execProgramWords(program: readonly string[], platform: Platform): string {
  return program.map((arg) => escapeSshPercent(platform === 'posix' ? quotePosixArgForMatchExec(arg, true) : win32ArgForMatchExec(arg))).join(' ')
}

export function proxyCommand(input: Pick<ManagedBlockInput, 'platform' | 'program' | 'server'>): string {
  const { platform } = input
  const literal = (arg: string) => escapeSshPercent(quoteArg(arg, platform))
  return [
    proxyProgramWords(input.program, platform),
    'ssh',
    '--server',
    literal(input.server),
    '--hostname',
    hostTokenFor(platform),
    '--port',
    '%p',
  ].join(' ')
}

function execCommand(input: ManagedBlockInput, program: readonly string[]): string {
  const { platform } = input
  const literal = (arg: string, always: boolean) =>
    escapeSshPercent(platform === 'posix' ? quotePosixArgForMatchExec(arg, always) : win32ArgForMatchExec(arg))
  return [
    execProgramWords(program, platform),
    'ssh-gen',
    '--server',
    literal(input.server, false),
    '--hostname',
    hostTokenFor(platform),
    // The login ssh will use (%r), so that ssh-gen can say which logins the person may use instead of a bare
    // "Permission denied". POSIX only, single-quoted; USER_GUARD keeps a name with a quote out of the shell.
    ...(platform === 'posix' ? ['--login', "'%r'"] : []),
    ...(input.ttl !== undefined ? ['--ttl', input.ttl] : []),
  ].join(' ')
}

/**
 * The `user` criterion before our exec on POSIX: any user name without a single quote. Before OpenSSH 9.6 a
 * user name from the command line could carry shell metacharacters into %r (CVE-2023-51385); inside single
 * quotes only a quote is dangerous, and with one the exec does not run (no certificate: fail closed).
 */
const USER_GUARD = `"*,!*'*"`

/** A login for `User`: a plain unix account name (the server's principals are), never anything ssh_config would read otherwise. */
const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/

/** The text of our two `Match final host` blocks, between marker lines, with the platform's quoting. */
export function renderManagedBlock(input: ManagedBlockInput, eol: Eol = '\n'): string {
  if (input.platform !== 'posix' && input.platform !== 'win32') throw configError(`unknown platform ${String(input.platform)}`)
  if (eol !== '\n' && eol !== '\r\n') throw configError('the line ending must be "\\n" or "\\r\\n"')
  const { host } = parseHostSpec(input.hostPattern, { allowPattern: true, allowPort: false })
  checkServerUrl(input.server)
  if (input.ttl !== undefined && !/^[1-9][0-9]{0,6}[smhd]$/.test(input.ttl)) throw configError(`ttl ${describeForMessage(input.ttl)} is not a duration like 15m`)
  checkProgram(input.program, input.platform, 'program')
  const execProgram = input.execProgram ?? input.program
  checkProgram(execProgram, input.platform, 'execProgram')
  const certsDir = configPathWord(input.certsDir.replace(/[\\/]+$/, ''), input.platform, 'certsDir')
  const inCerts = (suffix: string) => (certsDir.endsWith('"') ? `${certsDir.slice(0, -1)}/${suffix}"` : `${certsDir}/${suffix}`)

  const proxyLine = `ProxyCommand ${proxyCommand(input)}`
  assertArgvSplitAccepts(proxyLine)
  if (input.user !== undefined && !ACCOUNT_NAME.test(input.user)) throw configError(`user ${describeForMessage(input.user)} is not a unix account name`)
  const exec = execCommand(input, execProgram)
  const guard = input.platform === 'posix' ? ['user', USER_GUARD] : []
  const matchExecLine = ['Match', 'final', 'host', host, ...guard, 'exec', `"${exec}"`].join(' ')
  assertConfigWords(matchExecLine, ['Match', 'final', 'host', host, ...guard.map((word) => word.replace(/^"|"$/g, '')), 'exec', exec])

  const lines = [
    startMarker(host),
    `# Managed by \`jitssh ssh-config\` (rewritten on each run). To remove: jitssh ssh-config --hostname ${host} --remove`,
    `Match final host ${host}`,
    `    ${proxyLine}`,
    // One line per failure: jitssh says what failed and the fix; ssh's own INFO lines about the refused
    // connection ("Connection closed by UNKNOWN port 65535") would only mislead. An earlier LogLevel, or -v, wins.
    '    LogLevel ERROR',
  ]
  if (input.user !== undefined) lines.push(`    User ${input.user}`)
  if (input.knownHostsFile !== undefined) {
    const knownHosts = configPathWord(input.knownHostsFile, input.platform, 'knownHostsFile')
    const line = `UserKnownHostsFile ~/.ssh/known_hosts ${knownHosts}`
    assertArgvSplitAccepts(line)
    lines.push(`    ${line}`)
  }
  lines.push(
    '    # ssh-gen runs before every connection; if it fails, the ProxyCommand above still applies.',
    matchExecLine,
    `    IdentityFile ${inCerts('%h')}`,
    `    CertificateFile ${inCerts('%h-cert.pub')}`,
    '    IdentitiesOnly yes',
    'Match all',
    endMarker(host),
  )
  return lines.join(eol) + eol
}
