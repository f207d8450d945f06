// `jitssh login` for a service account: authenticate once now (so a wrong setup fails at login, not at the
// first ssh), then remember how, so that ssh-gen, the ProxyCommand and `jitssh agent` authenticate again by
// themselves. It replaces whatever login this machine had at that server. Callers hold the session lock.
import { JitsshError } from '../../shared/errors.js'
import type { WhoAmI } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { removeServerCertificates } from '../files/cert-store.js'
import { readConfig, updateConfig } from '../files/config-store.js'
import { writeHostCa } from '../files/known-hosts.js'
import type { JitsshPaths } from '../files/paths.js'
import { authenticateAutomation, describeAutomation, type AutomationLogin } from './automation.js'
import { deleteSession, loadSession } from './credentials.js'
import { getDiscovery } from './discovery.js'
import type { LoginUi } from './login.js'
import { whoAmI } from './login.js'
import { revokeToken } from './oauth.js'
import { storeAutomationToken } from './tokens.js'

export async function performAutomationLogin(
  ctx: ClientContext,
  paths: JitsshPaths,
  server: string,
  login: AutomationLogin,
  ui: LoginUi,
): Promise<{ identity: WhoAmI | null; sessionExpiresAt: string }> {
  const discovery = await getDiscovery(ctx, paths, server, { fresh: true })
  let tokens
  try {
    tokens = await authenticateAutomation(ctx, discovery, login)
  } catch (error) {
    if (!(error instanceof JitsshError) || error.code === 'ERR_INTERRUPTED' || error.code === 'ERR_NETWORK') throw error
    throw new JitsshError(error.code, `cannot log in to ${server} with ${describeAutomation(login)}: ${error.message}`, { cause: error, ...(error.hint ? { hint: error.hint } : {}) })
  }
  // A person's session here (if any) gives way: end it at the server, forget its refresh token.
  const kind = (await readConfig(paths)).servers[server]?.credential_store
  const previous = await loadSession(ctx, paths, server, kind).catch(() => null)
  if (previous !== null) {
    await revokeToken(ctx, discovery, previous.refresh_token).catch(() => undefined)
    await deleteSession(ctx, paths, server, kind, (message) => ui.warn(message))
  }
  await storeAutomationToken(ctx, paths, server, tokens)
  await writeHostCa(paths, server, discovery.jitssh.host_ca_public_key)
  const identity = await whoAmI(ctx, discovery, tokens.access_token).catch(() => null)
  await updateConfig(paths, (config) => {
    const record = { ...config.servers[server], automation: login, ...(identity ? { subject: identity.sub, email: identity.email } : {}) }
    delete record.credential_store
    config.default_server = server
    config.servers[server] = record
  })
  // Certificates of an earlier login here belong to its session: never presented for this one.
  await removeServerCertificates(paths, discovery.jitssh.user_ca_public_key)
  return { identity, sessionExpiresAt: tokens.session_expires_at }
}
