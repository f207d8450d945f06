// Where ssh would really go for a host: the installed ssh's own answer (`ssh -G -vvv host`), with the
// user's whole config (Includes, the system file, Match blocks in both passes). ssh takes the first value it
// reads of most keywords, and jitssh's block is read in ssh's final pass, so an earlier `Host *.example.com`
// with a ProxyJump, or a HostName that renames the host, silently wins over it. The -vvv trace says which
// sections of which files applied, in order; the first one that sets the keyword is named as the cause.
// JITSSH_ROUTE_CHECK=1 makes our own Match exec succeed at once without doing anything (src/cli/fast-path.ts).
import { runProgram } from '../../shared/child-process.js'
import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'

const TIMEOUT_MS = 15_000

/** What `ssh -G` settled on, for the keys jitssh cares about. */
export interface SshRoute {
  host: string
  hostname: string
  user: string
  port: string
  proxyCommand: string | null
  proxyJump: string | null
  certificateFiles: string[]
  identityFiles: string[]
  identitiesOnly: boolean
  userKnownHostsFiles: string[]
  /** The Match exec commands ssh ran (with tokens expanded), in order. */
  execCommands: string[]
  /** The config sections that applied, in the order ssh read them (file, 1-based line of the Host/Match; 0: before any). */
  sections: ConfigSection[]
}

export interface ConfigSection {
  file: string
  line: number
}

/** A line of the user's config that sets a keyword ssh kept. */
export interface SettingSource {
  file: string
  line: number
  text: string
  /** The Host or Match line it belongs to, or null for the top of the file. */
  section: string | null
}

export type RouteResult = { kind: 'ok'; route: SshRoute } | { kind: 'failed'; message: string } | { kind: 'no-ssh' }

/**
 * `ssh -G -vvv [-F configFile] [user@]host` with our exec short-circuited. `configFile` undefined: ssh's own
 * default files, as a plain `ssh host` reads them.
 */
export async function resolveSshRoute(host: string, options: { configFile?: string; env: Record<string, string | undefined>; cwd?: string }): Promise<RouteResult> {
  const args = ['-G', '-vvv', ...(options.configFile !== undefined ? ['-F', options.configFile] : []), '--', host]
  const result = await runProgram('ssh', args, { ...options.env, JITSSH_ROUTE_CHECK: '1' }, TIMEOUT_MS, options.cwd)
  if (result.missing) return { kind: 'no-ssh' }
  if (result.code !== 0) {
    const said = result.stderr.split('\n').filter((line) => line !== '' && !/^(debug\d|OpenSSH_)/.test(line)).slice(0, 2).join('; ')
    return { kind: 'failed', message: said || `ssh -G exited with ${result.code ?? 'a signal'}` }
  }
  return { kind: 'ok', route: parseRoute(host, result.stdout, result.stderr, options.cwd ?? process.cwd()) }
}

export function parseRoute(host: string, dump: string, trace: string, cwd: string): SshRoute {
  const values = new Map<string, string[]>()
  for (const line of dump.split('\n')) {
    const space = line.indexOf(' ')
    if (space <= 0) continue
    const key = line.slice(0, space).toLowerCase()
    values.set(key, [...(values.get(key) ?? []), line.slice(space + 1)])
  }
  const one = (key: string): string | null => values.get(key)?.[0] ?? null
  return {
    host,
    hostname: one('hostname') ?? host,
    user: one('user') ?? '',
    port: one('port') ?? '22',
    proxyCommand: one('proxycommand'),
    proxyJump: one('proxyjump'),
    certificateFiles: values.get('certificatefile') ?? [],
    identityFiles: values.get('identityfile') ?? [],
    identitiesOnly: one('identitiesonly') === 'yes',
    userKnownHostsFiles: (one('userknownhostsfile') ?? '').split(' ').filter(Boolean),
    execCommands: trace.split('\n').flatMap((line) => /^debug1: Executing command: '(.*)'$/.exec(line)?.[1] ?? []),
    sections: appliedSections(trace, cwd),
  }
}

/** The sections ssh applied, from its -vvv trace (both passes; the first pass comes first). */
function appliedSections(trace: string, cwd: string): ConfigSection[] {
  const sections: ConfigSection[] = []
  let lastMatch: ConfigSection | null = null
  const file = (name: string) => (isAbsolute(name) ? name : resolve(cwd, name))
  for (const line of trace.split('\n')) {
    let m = /^debug1: Reading configuration data (.+)$/.exec(line)
    if (m) {
      sections.push({ file: file(m[1]!), line: 0 })
      continue
    }
    m = /^debug1: (.+) line (\d+): Applying options for /.exec(line)
    if (m) {
      sections.push({ file: file(m[1]!), line: Number(m[2]) })
      continue
    }
    m = /^debug3: (.+) line (\d+): matched /.exec(line)
    if (m) {
      lastMatch = { file: file(m[1]!), line: Number(m[2]) }
      continue
    }
    if (/^debug2: match found/.test(line) && lastMatch !== null) sections.push(lastMatch)
    if (/^debug2: (match found|match not found)/.test(line)) lastMatch = null
  }
  return sections
}

const HOST_OR_MATCH = /^[ \t]*(host|match)([ \t]*=|[ \t]|$)/i

/** The first line, in the sections ssh applied, that sets `keyword` (ssh keeps the first value it reads). */
export function findSetting(route: Pick<SshRoute, 'sections'>, keyword: string, isOurs: (source: SettingSource) => boolean = () => false): SettingSource | null {
  const texts = new Map<string, string[] | null>()
  const lines = (name: string): string[] | null => {
    if (!texts.has(name)) {
      try {
        texts.set(name, readFileSync(name, 'utf8').split(/\r?\n/))
      } catch {
        texts.set(name, null)
      }
    }
    return texts.get(name) ?? null
  }
  const setting = new RegExp(`^[ \\t]*${keyword}([ \\t]*=|[ \\t])`, 'i')
  const seen = new Set<string>()
  for (const section of route.sections) {
    const key = `${section.file}:${section.line}`
    if (seen.has(key)) continue
    seen.add(key)
    const text = lines(section.file)
    if (text === null) continue
    const header = section.line === 0 ? null : (text[section.line - 1] ?? '').trim()
    for (let index = section.line; index < text.length; index++) {
      const line = text[index]!
      if (HOST_OR_MATCH.test(line)) break
      if (!setting.test(line)) continue
      const source = { file: section.file, line: index + 1, text: line.trim(), section: header }
      if (!isOurs(source)) return source
      break
    }
  }
  return null
}

/** `ProxyJump bastion.corp (~/.ssh/corp.conf line 3, in "Host *.example.com")`: where a setting comes from. */
export function describeSource(source: SettingSource): string {
  return `"${source.text.slice(0, 120)}" in ${source.file} line ${source.line}${source.section !== null ? ` (${source.section.slice(0, 80)})` : ''}`
}
