// jitssh status [--json] [--server URL]
import type { Command } from 'commander'
import { EXIT, JitsshError } from '../shared/errors.js'
import type { HostList, WhoAmI } from '../shared/protocol.js'
import { listCertificates } from '../client/files/cert-store.js'
import type { ClientContext } from '../client/context.js'
import { readConfig } from '../client/files/config-store.js'
import { loadSession, readAccessToken } from '../client/auth/credentials.js'
import { getDiscovery } from '../client/auth/discovery.js'
import { whoAmI } from '../client/auth/login.js'
import { requestJson } from '../client/http.js'
import { HOST_LIST_ANSWER } from '../client/person-answers.js'
import { jitsshPaths } from '../client/files/paths.js'
import { getAccessToken, resolveServer } from '../client/auth/tokens.js'
import { jsonText, terminalSafe } from '../client/terminal-text.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'

export interface StatusReport {
  server: string | null
  logged_in: boolean
  identity: WhoAmI | null
  /** Why the identity is unknown although a session exists (e.g. server unreachable). */
  identity_error: string | null
  session_expires_at: string | null
  /** Set when the session ended without a logout (expired, revoked, or the stored login vanished). */
  session_ended: { at: string; reason: string } | null
  /** Where the login is kept: the OS keychain (and which) or the 0600 file; null when not logged in. */
  credentials: { store: 'keychain' | 'file'; backend: string | null } | null
  /** The hosts the person may reach and as which logins (from the server), even before any certificate. */
  hosts: HostList['hosts'] | null
  certificates: Array<{
    host: string
    path: string
    valid: boolean
    valid_after: string | null
    valid_before: string | null
    principals: string[]
    key_id: string | null
    serial: string | null
    problem?: string
  }>
}

export interface StatusOptions {
  server?: string
  json?: boolean
}

export function registerStatus(program: Command, ctx: ClientContext, run: RunCommand<StatusOptions>): void {
  program
    .command('status')
    .description('show the server, who you are logged in as, where the login is kept, your hosts and logins, and the certificates on disk')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .option('--json', 'print JSON (for scripts)')
    .action(async (options: StatusOptions) => {
      await run(ctx, options)
    })
}

export async function statusCommand(ctx: ClientContext, options: StatusOptions): Promise<number> {
  const report = await collectStatus(ctx, parseServerArg(options.server))
  ctx.stdout.write(options.json === true ? `${jsonText(report)}\n` : renderStatus(report, ctx.now(), resolveTimeZone(ctx.env)))
  return report.logged_in ? EXIT.OK : EXIT.AUTH
}

async function collectStatus(ctx: ClientContext, explicit: string | undefined): Promise<StatusReport> {
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, explicit)
  const report: StatusReport = {
    server, logged_in: false, identity: null, identity_error: null, session_expires_at: null, session_ended: null, credentials: null, hosts: null, certificates: [],
  }
  const nowSeconds = ctx.now() / 1000
  for (const entry of await listCertificates(paths)) {
    const c = entry.certificate
    report.certificates.push({
      host: entry.host,
      path: entry.certPath,
      valid: c !== null && Number(c.validAfter) <= nowSeconds && nowSeconds < Number(c.validBefore),
      valid_after: c ? isoSeconds(c.validAfter) : null,
      valid_before: c ? isoSeconds(c.validBefore) : null,
      principals: c ? c.principals : [],
      key_id: c ? c.keyId : null,
      serial: c ? c.serial.toString() : null,
      ...(entry.problem ? { problem: entry.problem } : {}),
    })
  }
  if (server === null) return report
  const ended = async (): Promise<StatusReport['session_ended']> => (await readConfig(paths)).servers[server]?.session_ended ?? null
  const record = (await readConfig(paths)).servers[server]
  const stored = await loadSession(ctx, paths, server, record?.credential_store).catch(() => null)
  // A service account has no stored session: it authenticates again whenever it needs a token.
  const automation = record?.automation !== undefined ? await readAccessToken(paths, server) : null
  const session = stored ?? (record?.automation !== undefined ? { session_expires_at: automation?.session_expires_at ?? new Date(0).toISOString() } : null)
  if (session === null) {
    // A login that vanished from its store is found out (and remembered as ended) by getAccessToken.
    if (record?.credential_store !== undefined) await getAccessToken(ctx, paths, server).catch(() => undefined)
    report.session_ended = await ended()
    return report
  }
  report.credentials = record?.automation !== undefined ? null : { store: record?.credential_store ?? 'file', backend: record?.credential_backend ?? null }
  report.session_expires_at = session.session_expires_at
  try {
    const token = await getAccessToken(ctx, paths, server)
    report.logged_in = true
    const discovery = await getDiscovery(ctx, paths, server)
    report.identity = await whoAmI(ctx, discovery, token)
    report.session_expires_at = report.identity.session_expires_at || report.session_expires_at
    report.hosts = (await requestJson(ctx, `${server}/v1/hosts`, { answer: HOST_LIST_ANSWER, bearer: token }).catch(() => null))?.hosts ?? null
  } catch (error) {
    if (error instanceof JitsshError && (error.code === 'ERR_NOT_LOGGED_IN' || error.code === 'ERR_SESSION_REVOKED')) {
      report.logged_in = false
      report.session_expires_at = null
      report.credentials = null
      report.session_ended = await ended()
    } else {
      // The server did not answer: the local session may still be good.
      report.logged_in = Date.parse(session.session_expires_at) > ctx.now()
      report.identity_error = error instanceof Error ? error.message : String(error)
    }
  }
  return report
}

function isoSeconds(seconds: bigint): string {
  const ms = Number(seconds) * 1000
  return ms > 8.64e15 ? 'forever' : new Date(ms).toISOString()
}

export function relative(targetMs: number, nowMs: number): string {
  const diff = Math.round((targetMs - nowMs) / 1000)
  const abs = Math.abs(diff)
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : abs < 86400 ? `${Math.floor(abs / 3600)}h ${Math.floor((abs % 3600) / 60)}m` : `${Math.floor(abs / 86400)}d`
  return diff >= 0 ? `in ${text}` : `${text} ago`
}

function renderStatus(r: StatusReport, nowMs: number, timeZone: string): string {
  const local = (ms: number): string => formatLocalTime(ms, timeZone)
  const lines: string[] = []
  lines.push(`Server:       ${r.server ?? '(none; run: jitssh login --server URL)'}`)
  if (!r.logged_in && r.session_ended !== null) {
    lines.push(`Logged in:    no: your session ended ${local(Date.parse(r.session_ended.at))} (${r.session_ended.reason}) (run: jitssh login)`)
  } else if (!r.logged_in) {
    lines.push('Logged in:    no (run: jitssh login)')
  } else if (r.identity) {
    const groups = r.identity.groups?.length ? ` (groups: ${r.identity.groups.join(', ')})` : ''
    lines.push(`Logged in as: ${r.identity.email || r.identity.sub}${groups}`)
  } else {
    lines.push(`Logged in as: unknown (${r.identity_error ?? 'server unreachable'})`)
  }
  if (r.logged_in && r.session_expires_at) {
    const at = Date.parse(r.session_expires_at)
    lines.push(`Session:      valid until ${local(at)} (${relative(at, nowMs)})`)
  }
  if (r.credentials !== null) {
    lines.push(`Login kept:   ${r.credentials.store === 'keychain' ? `in the OS keychain (${r.credentials.backend ?? 'keychain'})` : `in ${r.credentials.backend ?? 'the credentials file (mode 0600)'}`}`)
  }
  if (r.hosts !== null) {
    if (r.hosts.length === 0) lines.push('Hosts:        none open to you now (see: jitssh explain HOST)')
    r.hosts.forEach((entry, index) => {
      const what = entry.status === 'allowed'
        ? `as ${entry.logins.join(', ')}${entry.until ? ` until ${local(Date.parse(entry.until))}` : ''}`
        : entry.status === 'on request' ? `on request (as ${entry.logins.join(', ')})` : `not now${entry.reason ? `: ${entry.reason}` : ''}`
      lines.push(`${index === 0 ? 'Hosts:        ' : '              '}${entry.host} ${what}`)
    })
  }
  if (r.certificates.length === 0) {
    lines.push('Certificates: none')
  } else {
    lines.push('Certificates:')
    for (const c of r.certificates) {
      if (c.problem !== undefined) {
        lines.push(`  ${c.host}  unreadable: ${c.problem}`)
        continue
      }
      const until = c.valid_before === 'forever' || c.valid_before === null ? c.valid_before : `${local(Date.parse(c.valid_before))} (${relative(Date.parse(c.valid_before), nowMs)})`
      lines.push(`  ${c.host}  ${c.valid ? 'valid until' : 'expired/not yet valid:'} ${until}  principals: ${c.principals.join(', ')}`)
    }
  }
  // Names, groups, principals and messages come from the server: each line is made safe as a whole.
  return `${lines.map(terminalSafe).join('\n')}\n`
}
