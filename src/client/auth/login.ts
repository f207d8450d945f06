// Logging in: choose the browser or the device flow, then keep what came back (refresh token in the
// keychain or file, access token cache, host CA line, default server). Callers hold the session lock.
import type { WhoAmI } from '../../shared/protocol.js'
import { removeServerCertificates } from '../files/cert-store.js'
import type { ClientContext } from '../context.js'
import { parseJitsshEnv } from '../env.js'
import { updateConfig } from '../files/config-store.js'
import { getDiscovery } from './discovery.js'
import { requestJson } from '../http.js'
import { IDENTITY_ANSWER, type Discovery } from '../server-answers.js'
import { writeHostCa } from '../files/known-hosts.js'
import { browserLogin } from './login-browser.js'
import { deviceLogin } from './login-device.js'
import { storeTokens } from './tokens.js'
import type { JitsshPaths } from '../files/paths.js'

/** How login talks to the person (always stderr in the CLI). */
export interface LoginUi {
  info(text: string): void
  warn(text: string): void
  /** Shows a spinner (on a terminal) until the returned function is called. */
  waiting(text: string): () => void
}

export interface LoginOptions {
  device?: boolean
  noBrowser?: boolean
  timeoutMs?: number
  /** Sign in afresh (prompt=login): the server and its identity provider ask again, whatever the browser has. */
  fresh?: boolean
}

export interface LoginResult {
  server: string
  flow: 'browser' | 'device'
  identity: WhoAmI | null
  sessionExpiresAt: string
}

/** Whether a browser can open here: not over SSH, and on Linux/BSD only with a display. */
export function browserAvailable(ctx: Pick<ClientContext, 'env' | 'platform'>): boolean {
  if (ctx.env.SSH_CONNECTION || ctx.env.SSH_CLIENT || ctx.env.SSH_TTY) return false
  if (ctx.platform === 'darwin' || ctx.platform === 'win32') return true
  return Boolean(ctx.env.DISPLAY || ctx.env.WAYLAND_DISPLAY)
}

export async function performLogin(ctx: ClientContext, paths: JitsshPaths, server: string, ui: LoginUi, options: LoginOptions = {}): Promise<LoginResult> {
  const discovery = await getDiscovery(ctx, paths, server, { fresh: true })
  const canOpen = options.noBrowser !== true && browserAvailable(ctx)
  const flow = options.device === true || (!canOpen && options.noBrowser !== true) ? 'device' : 'browser'
  const timeoutMs = options.timeoutMs ?? parseJitsshEnv(ctx.env).loginTimeoutMs
  const tokens = flow === 'device'
    ? await deviceLogin(ctx, discovery, ui, { timeoutMs })
    : await browserLogin(ctx, discovery, ui, { openBrowser: canOpen, timeoutMs, fresh: options.fresh === true })
  await storeTokens(ctx, paths, server, tokens, ui)
  await writeHostCa(paths, server, discovery.jitssh.host_ca_public_key)
  const identity = await whoAmI(ctx, discovery, tokens.access_token).catch(() => null)
  await updateConfig(paths, (config) => {
    config.default_server = server
    config.servers[server] = {
      ...config.servers[server],
      ...(identity ? { subject: identity.sub, email: identity.email } : {}),
    }
    // A person now: no service account login here any more.
    delete config.servers[server].automation
  })
  // A certificate belongs to the session that issued it: a new session (perhaps another person, perhaps after
  // a revocation that put the old certificates on the KRL) never presents one of before.
  await removeServerCertificates(paths, discovery.jitssh.user_ca_public_key)
  return { server, flow, identity, sessionExpiresAt: tokens.session_expires_at }
}

export async function whoAmI(ctx: ClientContext, discovery: Discovery, accessToken: string): Promise<WhoAmI> {
  return requestJson(ctx, discovery.userinfo_endpoint, { answer: IDENTITY_ANSWER, bearer: accessToken })
}
