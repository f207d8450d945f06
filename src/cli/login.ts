// jitssh login [--server URL] [--device] [--no-browser] [--force] [--ca-file FILE]
//   or, for a service account: --github-actions [--audience A] | --id-token-file F | --client-id X (--client-key K | --client-secret-file S)
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { readConfig, updateConfig } from '../client/files/config-store.js'
import { readCaFile } from '../client/trust.js'
import { loadSession } from '../client/auth/credentials.js'
import { getDiscovery } from '../client/auth/discovery.js'
import type { AutomationLogin } from '../client/auth/automation.js'
import { performLogin, whoAmI } from '../client/auth/login.js'
import { performAutomationLogin } from '../client/auth/login-automation.js'
import { revokeToken } from '../client/auth/oauth.js'
import { jitsshPaths, type JitsshPaths } from '../client/files/paths.js'
import { getAccessToken, lockSession, resolveServer } from '../client/auth/tokens.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { createUi } from './output.js'
import { terminalSafe } from '../client/terminal-text.js'
import { formatLocalTime, resolveTimeZone } from '../shared/zoned-time.js'

export interface LoginCommandOptions {
  server?: string
  device?: boolean
  /** false with --no-browser */
  browser?: boolean
  /** Log in again although the session is good, and sign in afresh (the server asks for the password again). */
  force?: boolean
  /** A service account, from the GitHub Actions job's OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN). */
  githubActions?: boolean
  /** The audience to ask the runner for (default: the server URL). */
  audience?: string
  /** A service account, from an OIDC ID token in this file (read again at each renewal). */
  idTokenFile?: string
  /** A service account's client (client credentials), with --client-key or --client-secret-file. */
  clientId?: string
  clientKey?: string
  clientSecretFile?: string
  /** A PEM file of the CA that signs the server's TLS certificate (a private CA), kept for every later command. */
  caFile?: string
}

export function registerLogin(program: Command, ctx: ClientContext, run: RunCommand<LoginCommandOptions>): void {
  program
    .command('login')
    .description('log in to a jitssh server in the browser (or with a device code)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .option('--device', 'log in with a code entered on another device (chosen automatically without a browser)')
    .option('--no-browser', 'do not open a browser; print the URL to open instead')
    .option('--force', 'log in again even when the session is good, signing in afresh (for rules that need a recent sign-in)')
    .option('--github-actions', "log in as a service account with the GitHub Actions job's OIDC token (needs permissions: id-token: write)")
    .option('--audience <aud>', 'with --github-actions: the audience to request (default: the server URL)')
    .option('--id-token-file <file>', 'log in as a service account with the OIDC ID token in this file (read again at each renewal)')
    .option('--client-id <id>', "log in as a service account's client (client credentials), with --client-key or --client-secret-file")
    .option('--client-key <file>', 'with --client-id: a PEM private key that signs a client assertion (private_key_jwt) at each renewal')
    .option('--client-secret-file <file>', 'with --client-id: a file holding the client secret')
    .option('--ca-file <file>', "the CA certificate(s), PEM, that sign the server's TLS certificate (a private CA); kept for every later command, ssh's included")
    .action(async (options: LoginCommandOptions) => {
      await run(ctx, options)
    })
}

export async function loginCommand(ctx: ClientContext, options: LoginCommandOptions): Promise<number> {
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, parseServerArg(options.server))
  if (server === null) {
    throw new JitsshError('ERR_USAGE', 'which server? there is no default yet', { hint: 'run: jitssh login --server https://access.example.com' })
  }
  if (options.caFile !== undefined) {
    // Checked, then kept before the first request: this login and every later jitssh process trust it.
    const file = resolve(ctx.cwd, options.caFile)
    readCaFile(file)
    await updateConfig(paths, (config) => {
      config.servers[server] = { ...config.servers[server], ca_file: file }
    })
  }
  const ui = createUi(ctx)
  const automation = automationLoginOf(ctx, options, server)
  if (automation !== undefined) {
    const lock = await lockSession(ctx, paths, server, () => ui.info('Waiting for another jitssh login to finish...'))
    try {
      const result = await performAutomationLogin(ctx, paths, server, automation, ui)
      const who = result.identity ? ` as ${result.identity.email || result.identity.sub}` : ''
      ui.info(`Logged in to ${server}${who}; access is renewed with the same credential when it runs out, never in a browser.`)
      return 0
    } finally {
      await lock.release()
    }
  }
  if (options.force !== true) {
    const current = await currentLogin(ctx, paths, server)
    if (current !== null) {
      const who = `${server} as ${current.email} (session valid until ${localTime(ctx, current.until)})`
      if (!ctx.isTTY || !(await confirm(ctx, `Already logged in to ${who}. Log in again? [y/N] `))) {
        ui.info(`Already logged in to ${who}. To log in again: jitssh login --force`)
        return 0
      }
    }
  }
  const lock = await lockSession(ctx, paths, server, () => ui.info('Waiting for another jitssh login to finish...'))
  try {
    const previous = await loadSession(ctx, paths, server, (await readConfig(paths)).servers[server]?.credential_store).catch(() => null)
    const result = await performLogin(ctx, paths, server, ui, {
      device: options.device === true,
      noBrowser: options.browser === false,
      fresh: options.force === true,
    })
    if (previous !== null) {
      // The old session is no longer needed: end it at the server (best effort).
      const discovery = await getDiscovery(ctx, paths, server)
      await revokeToken(ctx, discovery, previous.refresh_token).catch(() => undefined)
    }
    const who = result.identity ? ` as ${terminalSafe(result.identity.email || result.identity.sub)}` : ''
    const until = result.sessionExpiresAt ? ` (session valid until ${localTime(ctx, result.sessionExpiresAt)})` : ''
    ui.info(`Logged in to ${server}${who}${until}.`)
    return 0
  } finally {
    await lock.release()
  }
}

/** The one way the CLI shows a time to a person: local, with the zone (`2026-11-19 14:03:12 CET`). */
function localTime(ctx: ClientContext, iso: string): string {
  return formatLocalTime(Date.parse(iso), resolveTimeZone(ctx.env))
}

/** The person logged in to `server` now (the session answers), or null: no session, or it has ended. */
async function currentLogin(ctx: ClientContext, paths: JitsshPaths, server: string): Promise<{ email: string; until: string } | null> {
  const stored = await loadSession(ctx, paths, server, (await readConfig(paths)).servers[server]?.credential_store).catch(() => null)
  if (stored === null) return null
  try {
    const token = await getAccessToken(ctx, paths, server)
    const me = await whoAmI(ctx, await getDiscovery(ctx, paths, server), token)
    return { email: me.email, until: me.session_expires_at }
  } catch (error) {
    if (error instanceof JitsshError && (error.code === 'ERR_NOT_LOGGED_IN' || error.code === 'ERR_SESSION_REVOKED')) return null
    throw error
  }
}

/** Asks a yes/no question on the terminal; true for y or yes. */
async function confirm(ctx: ClientContext, question: string): Promise<boolean> {
  ctx.stderr.write(question)
  const answer = await new Promise<string>((resolve) => {
    let text = ''
    const onData = (chunk: Buffer | string): void => {
      text += chunk.toString()
      if (!text.includes('\n')) return
      done(text)
    }
    const done = (value: string): void => {
      ctx.stdin.off('data', onData)
      ctx.stdin.off('end', onEnd)
      ctx.stdin.pause()
      resolve(value)
    }
    const onEnd = (): void => done(text)
    ctx.stdin.on('data', onData)
    ctx.stdin.once('end', onEnd)
    ctx.stdin.resume()
  })
  return /^\s*y(es)?\s*$/i.test(answer)
}

const CLIENT_ID_SHAPE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/

/** The service account login the options ask for, checked; undefined for a person's login. */
export function automationLoginOf(ctx: Pick<ClientContext, 'cwd'>, options: LoginCommandOptions, server: string): AutomationLogin | undefined {
  const usage = (message: string): JitsshError => new JitsshError('ERR_USAGE', message, { hint: 'see: jitssh login --help' })
  const ways = [options.githubActions === true, options.idTokenFile !== undefined, options.clientId !== undefined].filter(Boolean).length
  if (options.audience !== undefined && options.githubActions !== true) throw usage('--audience goes with --github-actions')
  if ((options.clientKey !== undefined || options.clientSecretFile !== undefined) && options.clientId === undefined) throw usage('--client-key and --client-secret-file go with --client-id')
  if (ways === 0) return undefined
  if (ways > 1) throw usage('give one of --github-actions, --id-token-file and --client-id')
  if (options.device === true || options.browser === false || options.force === true) throw usage('--device, --no-browser and --force are for a person\'s login, not a service account\'s')
  if (options.githubActions === true) return { method: 'github-actions', audience: options.audience ?? server }
  if (options.idTokenFile !== undefined) return { method: 'id-token-file', path: resolve(ctx.cwd, options.idTokenFile) }
  const clientId = options.clientId!
  if (!CLIENT_ID_SHAPE.test(clientId)) throw usage(`--client-id: ${JSON.stringify(clientId.slice(0, 40))} is not a client id`)
  if ((options.clientKey === undefined) === (options.clientSecretFile === undefined)) throw usage('--client-id needs exactly one of --client-key and --client-secret-file')
  if (options.clientKey !== undefined) return { method: 'client-key', client_id: clientId, key_path: resolve(ctx.cwd, options.clientKey) }
  return { method: 'client-secret', client_id: clientId, secret_path: resolve(ctx.cwd, options.clientSecretFile!) }
}
