// The doctor's checks that ask the server: reachable with a TLS certificate this machine trusts, a session that
// still refreshes, this machine's clock against the server's, what the policy says for the host and login, and
// whether the bastion reaches the target's sshd.
import { isJitsshError, JitsshError } from '../../shared/errors.js'
import type { WhoAmI } from '../../shared/protocol.js'
import { formatLocalTime, resolveTimeZone } from '../../shared/zoned-time.js'
import { loadSession, readAccessToken } from '../auth/credentials.js'
import { fetchDiscovery } from '../auth/discovery.js'
import { whoAmI } from '../auth/login.js'
import { getAccessToken, withAccessToken } from '../auth/tokens.js'
import type { ClientContext } from '../context.js'
import { parseJitsshEnv } from '../env.js'
import { readConfig } from '../files/config-store.js'
import type { JitsshPaths } from '../files/paths.js'
import { requestJson } from '../http.js'
import { EXPLANATION_ANSWER } from '../person-answers.js'
import type { Discovery } from '../server-answers.js'
import { terminalSafe } from '../terminal-text.js'
import { caFileFor, extraCaFor } from '../trust.js'
import { openTunnel, readTunnel } from '../tunnel/tunnel.js'
import { fail, pass, skip, warn, type CheckResult } from './report.js'

/** When this machine asked and when the answer came (its clock), and the server's clock in between. */
export interface ClockSample {
  sentAt: number
  receivedAt: number
  serverTime: number
  /** Seconds resolution (an HTTP Date header) rather than the server's own time in ms. */
  coarse: boolean
}

const local = (ctx: ClientContext, ms: number): string => formatLocalTime(ms, resolveTimeZone(ctx.env))

export async function checkServer(ctx: ClientContext, paths: JitsshPaths, server: string): Promise<{ result: CheckResult; discovery: Discovery | null; clock: ClockSample | null }> {
  const sentAt = ctx.now()
  let date: string | null = null
  try {
    const discovery = await fetchDiscovery(ctx, server, (response) => (date = response.headers.get('date')))
    const receivedAt = ctx.now()
    const dated = date === null ? Number.NaN : Date.parse(date)
    const clock = Number.isFinite(dated) ? { sentAt, receivedAt, serverTime: dated, coarse: true } : null
    const caFile = caFileFor(ctx.env, await readConfig(paths), server)
    const how = server.startsWith('https:') ? `TLS verified${caFile !== undefined ? ` (with the CA in ${caFile})` : ''}` : 'plain HTTP on loopback'
    return { result: pass('server', `${server} answers as a jitssh server; ${how}`), discovery, clock }
  } catch (error) {
    const e = error instanceof JitsshError ? error : new JitsshError('ERR_NETWORK', String(error))
    const cause = e.code === 'ERR_TLS' ? 'server.tls' : e.code === 'ERR_NETWORK' ? 'server.unreachable' : 'server.not_jitssh'
    return { result: fail('server', cause, terminalSafe(e.message), e.hint ?? 'check the --server URL'), discovery: null, clock: null }
  }
}

export async function checkSession(ctx: ClientContext, paths: JitsshPaths, server: string, discovery: Discovery): Promise<{ result: CheckResult; identity: WhoAmI | null; token: string | null; clock: ClockSample | null }> {
  const record = (await readConfig(paths)).servers[server]
  const none = (result: CheckResult) => ({ result, identity: null, token: null, clock: null })
  const stored = await loadSession(ctx, paths, server, record?.credential_store).catch(() => null)
  if (stored === null && record?.session_ended === undefined && record?.credential_store === undefined) {
    return none(fail('session', 'session.none', `not logged in to ${server}`, `jitssh login --server ${server}`))
  }
  let token: string
  try {
    // A refresh, not the cached token: the question is whether the session still refreshes.
    const cached = await readAccessToken(paths, server)
    token = await getAccessToken(ctx, paths, server, cached !== null ? { rejected: cached.access_token } : {})
  } catch (error) {
    if (!isJitsshError(error)) throw error
    const cause = error.code === 'ERR_SESSION_REVOKED' ? 'session.ended' : error.code === 'ERR_LOGIN_DENIED' ? 'session.disabled' : error.code === 'ERR_NOT_LOGGED_IN' ? 'session.none' : 'session.refresh'
    return none(fail('session', cause, terminalSafe(error.message), error.hint ?? 'jitssh login'))
  }
  const sentAt = ctx.now()
  const identity = await whoAmI(ctx, discovery, token)
  const receivedAt = ctx.now()
  const serverTime = identity.server_time === undefined ? Number.NaN : Date.parse(identity.server_time)
  const groups = identity.groups.length > 0 ? ` (groups: ${identity.groups.join(', ')})` : ''
  const until = identity.session_expires_at ? `, valid until ${local(ctx, Date.parse(identity.session_expires_at))}` : ''
  return {
    result: pass('session', terminalSafe(`logged in as ${identity.email || identity.sub}${groups}; the session refreshes${until}`)),
    identity,
    token,
    clock: Number.isFinite(serverTime) ? { sentAt, receivedAt, serverTime, coarse: false } : null,
  }
}

function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000)
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** This machine's clock against the server's (which dates the certificates): within 10 s, else warn, past 60 s fail. */
export function checkClock(sample: ClockSample | null): CheckResult {
  if (sample === null) return skip('clock', 'no answer from the server to compare clocks with')
  const midpoint = (sample.sentAt + sample.receivedAt) / 2
  const slack = (sample.receivedAt - sample.sentAt) / 2 + (sample.coarse ? 1000 : 0)
  const skew = midpoint - sample.serverTime
  const beyond = Math.max(0, Math.abs(skew) - slack)
  const which = skew > 0 ? 'ahead of' : 'behind'
  if (beyond <= 10_000) return pass('clock', `this machine's clock is within ${duration(Math.max(Math.abs(skew), 1000))} of the server's`)
  const summary = `this machine's clock is ${duration(skew)} ${which} the server's`
  const fix = `set this machine's clock right (e.g. timedatectl set-ntp true): certificates are dated by the server's clock, so a clock ${which === 'ahead of' ? 'ahead throws them away early' : 'behind keeps using them after they end'}`
  return beyond <= 60_000 ? warn('clock', 'clock.skew', summary, fix) : fail('clock', 'clock.skew', summary, fix)
}

/** The policy's answer for this person, host and login, now (GET /v1/policy/explain). */
export async function checkPolicy(ctx: ClientContext, paths: JitsshPaths, server: string, host: string, login: string): Promise<CheckResult> {
  const query = new URLSearchParams({ host, login })
  try {
    const answer = await withAccessToken(ctx, paths, server, {}, (token) => requestJson(ctx, `${server}/v1/policy/explain?${query}`, { answer: EXPLANATION_ANSWER, bearer: token }))
    if (!answer.target) return fail('policy', 'policy.not_target', `${host} is not a target of this bastion: it carries no connection there`, "ask the server's admin to add it to targets")
    if (answer.allowed) {
      return pass('policy', terminalSafe(`allowed as ${login} by rule "${answer.rule ?? ''}"${answer.until ? ` until ${local(ctx, Date.parse(answer.until))}` : ''}`))
    }
    const cause = answer.step_up === true ? 'policy.step_up' : answer.code === 'policy.login' ? 'policy.login' : 'policy.denied'
    const fix = answer.request_command ? `ask: ${answer.request_command}` : answer.step_up === true ? 'jitssh login --force' : `jitssh explain ${host} shows how each of your rules answers`
    return fail('policy', cause, terminalSafe(answer.reason ?? `not allowed to log in to ${host} as ${login}`), terminalSafe(fix))
  } catch (error) {
    if (!isJitsshError(error)) throw error
    return fail('policy', 'policy.unanswered', terminalSafe(error.message), error.hint ?? 'try again; jitssh explain HOST')
  }
}

/** Through the bastion to the target's sshd: its `SSH-2.0-` banner, read from a tunnel of our own. */
export async function reachTarget(ctx: ClientContext, paths: JitsshPaths, server: string, discovery: Discovery, host: string, port: number): Promise<{ banner: string } | { error: JitsshError }> {
  const ca = await extraCaFor(ctx.env, paths, discovery.jitssh.tunnel_endpoint)
  const { httpTimeoutMs } = parseJitsshEnv(ctx.env)
  try {
    const tunnel = await withAccessToken(ctx, paths, server, {}, (token) =>
      openTunnel(ctx, { tunnelEndpoint: discovery.jitssh.tunnel_endpoint, host, port, token, ca }, { handshakeTimeoutMs: httpTimeoutMs }))
    let close = (): void => undefined
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let text = ''
        const timer = setTimeout(() => reject(new JitsshError('ERR_TARGET_UNREACHABLE', `${host}:${port} sent no SSH banner through the bastion within 10 s`)), 10_000)
        close = readTunnel(tunnel, (data) => {
          text += data.toString('latin1')
          const line = text.split(/\r?\n/).find((l) => l.startsWith('SSH-'))
          if (line !== undefined) {
            clearTimeout(timer)
            resolve(line)
          } else if (text.length > 8192) {
            clearTimeout(timer)
            reject(new JitsshError('ERR_TARGET_UNREACHABLE', `${host}:${port} answers through the bastion, but not as an SSH server`))
          }
        }, () => {
          clearTimeout(timer)
          reject(new JitsshError('ERR_TARGET_UNREACHABLE', `${host}:${port} closed the connection before its SSH banner`))
        })
      })
      return { banner: terminalSafe(banner).slice(0, 120) }
    } finally {
      close()
    }
  } catch (error) {
    if (!isJitsshError(error)) throw error
    return { error }
  }
}

/** What the target's host key says about it, from the ssh trial's -vvv output. */
export interface HostKeySeen {
  certificate: boolean
  /** The CA's fingerprint when it presented a certificate. */
  caFingerprint: string | null
}

export function checkBastion(host: string, port: number, reached: { banner: string } | { error: JitsshError }, hostKey: HostKeySeen | null, hostCaFingerprint: string | null): CheckResult {
  if ('error' in reached) {
    const { error } = reached
    const cause = error.code === 'ERR_TARGET_UNREACHABLE' ? 'target.unreachable' : error.code === 'ERR_POLICY_DENIED' ? 'policy.denied' : 'bastion.failed'
    const fix = error.hint ?? (cause === 'target.unreachable' ? `check that the sshd of ${host} is up, and the server's targets entry for it` : 'see: jitssh explain HOST')
    return fail('bastion', cause, terminalSafe(error.message), fix)
  }
  const reachedText = `the bastion reaches ${host}:${port}: ${reached.banner}`
  if (hostKey === null) return pass('bastion', reachedText)
  if (!hostKey.certificate) {
    return warn('bastion', 'bastion.no_host_certificate', `${reachedText}; but it presents a plain host key, no certificate: ssh will ask whether to trust it`, `give ${host} a host certificate: jitssh-server host-cert --hostname ${host} --key <its host key>.pub (or target-setup)`)
  }
  if (hostCaFingerprint !== null && hostKey.caFingerprint !== hostCaFingerprint) {
    return warn('bastion', 'bastion.other_host_ca', `${reachedText}; its host certificate is from another CA (${hostKey.caFingerprint ?? 'unknown'}) than the server's host CA`, `renew it with the server's host CA: jitssh-server host-cert --hostname ${host}`)
  }
  return pass('bastion', `${reachedText}; host certificate from the jitssh host CA`)
}
