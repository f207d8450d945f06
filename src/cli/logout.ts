// jitssh logout [--server URL]
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { readConfig, updateConfig } from '../client/files/config-store.js'
import { deleteSession, loadSession, readAccessToken } from '../client/auth/credentials.js'
import { removeHostCa } from '../client/files/known-hosts.js'
import { removeServerCertificates } from '../client/files/cert-store.js'
import { revokeToken } from '../client/auth/oauth.js'
import { rememberedDiscovery } from '../client/auth/discovery.js'
import { jitsshPaths } from '../client/files/paths.js'
import { lockSession, resolveServer } from '../client/auth/tokens.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { createUi } from './output.js'

export interface LogoutOptions {
  server?: string
}

export function registerLogout(program: Command, ctx: ClientContext, run: RunCommand<LogoutOptions>): void {
  program
    .command('logout')
    .description("end the session at the server and remove this machine's credentials, keys and certificates for it")
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (options: LogoutOptions) => {
      await run(ctx, options)
    })
}

export async function logoutCommand(ctx: ClientContext, options: LogoutOptions): Promise<number> {
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, parseServerArg(options.server))
  const ui = createUi(ctx)
  if (server === null) {
    ui.info('Not logged in.')
    return 0
  }
  const lock = await lockSession(ctx, paths, server)
  try {
    const config = await readConfig(paths)
    const record = config.servers[server]
    const discovery = rememberedDiscovery(config, server)
    const kind = record?.credential_store
    const session = await loadSession(ctx, paths, server, kind).catch(() => null)
    // A service account keeps no refresh token: its access token names the session to end.
    const automationToken = record?.automation !== undefined ? (await readAccessToken(paths, server))?.access_token ?? null : null
    const token = session?.refresh_token ?? automationToken
    let revokeError: JitsshError | null = null
    if (token !== null && discovery !== undefined) {
      try {
        await revokeToken(ctx, discovery, token)
      } catch (error) {
        revokeError = error instanceof JitsshError ? error : new JitsshError('ERR_NETWORK', String(error))
      }
    }
    await deleteSession(ctx, paths, server, kind, (m) => ui.warn(m))
    const removed = discovery ? await removeServerCertificates(paths, discovery.jitssh.user_ca_public_key) : []
    await removeHostCa(paths, server)
    await updateConfig(paths, (c) => {
      const kept = c.servers[server]
      if (kept) {
        delete kept.subject
        delete kept.email
        delete kept.credential_store
        delete kept.automation
        delete kept.credential_backend
        delete kept.session_ended
      }
    })
    if (revokeError !== null) {
      throw new JitsshError(revokeError.code, `removed the local credentials, but could not end the session at ${server}: ${revokeError.message}`, {
        cause: revokeError,
        hint: 'the session stays valid at the server until it expires, unless an admin revokes it',
      })
    }
    const certs = removed.length ? ` and ${removed.length} certificate${removed.length === 1 ? '' : 's'}` : ''
    ui.info(token === null ? `Not logged in to ${server}; removed local files${certs}.` : `Logged out of ${server}${certs ? `; removed${certs.slice(4)}` : ''}.`)
    return 0
  } finally {
    await lock.release()
  }
}
