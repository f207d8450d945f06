// `jitssh agent`: keeps a key and, per host, a certificate fresh in one directory for long jobs (Ansible runs,
// deploy scripts) that open many ssh connections over a long time. One key for the whole run (so a key and
// a certificate on disk always belong together, whatever a reader catches between two renewals), written
// once (0600); each certificate replaced atomically (temp file, fsync, rename) a third of the way into the
// life it had left; every access token through the token module (a service account authenticates again by
// itself; a person's session refreshes); never a browser. Gives up, non-zero, when a certificate could not be
// renewed before it expired.
import { JitsshError } from '../../shared/errors.js'
import { encodePrivateKey, generateKeyPair, type SshKeyPair } from '../../ssh/keys.js'
import { getDiscovery } from '../auth/discovery.js'
import type { LoginUi } from '../auth/login.js'
import { withAccessToken } from '../auth/tokens.js'
import { signedByUserCa, signKey } from '../certificate-issue.js'
import type { ClientContext } from '../context.js'
import type { JitsshPaths } from '../files/paths.js'
import { requestJson } from '../http.js'
import { HOST_LIST_ANSWER } from '../person-answers.js'
import type { Discovery } from '../server-answers.js'
import { AgentFiles, checkedHost } from './agent-files.js'
import { renewalTime, retryTime } from './schedule.js'

export interface AgentOptions {
  server: string
  dir: string
  /** Validated host names; undefined: every host the identity may reach now (GET /v1/hosts). */
  hosts: string[] | undefined
  oneshot: boolean
  sshConfig: boolean
  /** [node, jitssh.js] for the ssh_config's ProxyCommand. */
  program: string[]
  ui: LoginUi
}

interface HostState {
  host: string
  validBefore: number
  next: number
  failures: number
}

/** At most this many signing requests at once (the first round, with many hosts). */
const PARALLEL_SIGNS = 4

/** Runs until `ctx.signal` aborts (SIGTERM, SIGINT: resolves) or a certificate expires unrenewed (throws). */
export async function runAgent(ctx: ClientContext, paths: JitsshPaths, options: AgentOptions): Promise<void> {
  const files = await AgentFiles.open(ctx, options.dir)
  try {
    const pair = generateKeyPair('ssh-ed25519', 'jitssh-agent')
    const discovery = await getDiscovery(ctx, paths, options.server)
    const hosts = options.hosts ?? (await reachableHosts(ctx, paths, options.server))
    if (hosts.length === 0) throw new JitsshError('ERR_POLICY_DENIED', `no host of ${options.server} is open to this identity now`, { hint: 'see: jitssh hosts' })
    await files.writeKey(encodePrivateKey(pair, 'jitssh-agent'))
    await files.writeKnownHosts(discovery.jitssh.host_ca_public_key)
    const states: HostState[] = []
    for (let i = 0; i < hosts.length; i += PARALLEL_SIGNS) {
      states.push(...(await Promise.all(hosts.slice(i, i + PARALLEL_SIGNS).map(async (host) => {
        const validBefore = await renew(ctx, paths, options.server, discovery, files, pair, host)
        return { host, validBefore, next: renewalTime(validBefore, ctx.now()), failures: 0 }
      }))))
    }
    if (options.sshConfig) await files.writeSshConfig({ hosts, program: options.program, server: options.server })
    options.ui.info(`jitssh agent: ${hosts.length === 1 ? 'a certificate' : `${hosts.length} certificates`} in ${options.dir}${options.sshConfig ? ` (use: ssh -F ${files.sshConfigPath} HOST)` : ''}`)
    if (options.oneshot) return
    await keepFresh(ctx, paths, options, discovery, files, pair, states)
  } finally {
    await files.close()
  }
}

async function keepFresh(
  ctx: ClientContext, paths: JitsshPaths, options: AgentOptions, discovery: Discovery, files: AgentFiles, pair: SshKeyPair, states: HostState[],
): Promise<void> {
  for (;;) {
    const next = Math.min(...states.map((state) => state.next))
    try {
      await ctx.sleep(Math.max(0, next - ctx.now()), ctx.signal)
    } catch (error) {
      if (ctx.signal.aborted) return
      throw error
    }
    for (const state of states.filter((entry) => entry.next <= ctx.now())) {
      try {
        state.validBefore = await renew(ctx, paths, options.server, discovery, files, pair, state.host)
        state.next = renewalTime(state.validBefore, ctx.now())
        if (state.failures > 0) options.ui.info(`jitssh agent: renewed the certificate for ${state.host} again`)
        state.failures = 0
      } catch (error) {
        if (ctx.signal.aborted) return
        const retry = retryTime(state.validBefore, ctx.now())
        const why = error instanceof Error ? error.message : String(error)
        if (retry === undefined) {
          throw new JitsshError(error instanceof JitsshError ? error.code : 'ERR_INTERNAL', `could not renew the certificate for ${state.host} before it expired: ${why}`, { cause: error })
        }
        if (state.failures++ === 0) options.ui.warn(`cannot renew the certificate for ${state.host} (valid for ${Math.round((state.validBefore - ctx.now()) / 1000)} s more); retrying: ${why}`)
        state.next = retry
      }
    }
  }
}

/** A new certificate for the agent's key and `host`, checked and written; returns its end (Unix ms). */
async function renew(ctx: ClientContext, paths: JitsshPaths, server: string, discovery: Discovery, files: AgentFiles, pair: SshKeyPair, host: string): Promise<number> {
  const { certificate } = await withAccessToken(ctx, paths, server, {}, (token) => signKey(ctx, discovery, host, token, pair))
  if (!signedByUserCa(certificate, discovery) && !signedByUserCa(certificate, await getDiscovery(ctx, paths, server, { fresh: true }))) {
    throw new JitsshError('ERR_INVALID_CERTIFICATE', `the certificate for ${host} is not from ${server}'s user CA`)
  }
  const validBefore = Number(certificate.validBefore) * 1000
  if (validBefore <= ctx.now()) throw new JitsshError('ERR_INVALID_CERTIFICATE', `the server issued a certificate for ${host} that has already expired`, { hint: 'check this machine\'s clock' })
  const line = certificate.line.trim().split(/\s+/).slice(0, 2).join(' ')
  await files.writeCertificate(host, `${line} jitssh-agent:${host}`)
  return validBefore
}

/** The targets the identity may reach now (not those only open at other times). */
async function reachableHosts(ctx: ClientContext, paths: JitsshPaths, server: string): Promise<string[]> {
  const list = await withAccessToken(ctx, paths, server, {}, (token) => requestJson(ctx, `${server}/v1/hosts`, { answer: HOST_LIST_ANSWER, bearer: token }))
  // Names from the network touch paths and ssh_config only once they pass the host-name check.
  return list.hosts.filter((entry) => entry.status === 'allowed').map((entry) => checkedHost(entry.host))
}
