// jitssh login [--server URL] [--device] [--no-browser]
import type { Command } from 'commander'
import { JitsshError } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { readConfig } from '../client/files/config-store.js'
import { loadSession } from '../client/auth/credentials.js'
import { getDiscovery } from '../client/auth/discovery.js'
import { performLogin } from '../client/auth/login.js'
import { revokeToken } from '../client/auth/oauth.js'
import { jitsshPaths } from '../client/files/paths.js'
import { lockSession, resolveServer } from '../client/auth/tokens.js'
import type { RunCommand } from './command.js'
import { parseServerArg } from './host-arg.js'
import { createUi } from './output.js'
import { terminalSafe } from '../client/terminal-text.js'

export interface LoginCommandOptions {
  server?: string
  device?: boolean
  /** false with --no-browser */
  browser?: boolean
}

export function registerLogin(program: Command, ctx: ClientContext, run: RunCommand<LoginCommandOptions>): void {
  program
    .command('login')
    .description('log in to a jitssh server in the browser (or with a device code)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .option('--device', 'log in with a code entered on another device (chosen automatically without a browser)')
    .option('--no-browser', 'do not open a browser; print the URL to open instead')
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
  const ui = createUi(ctx)
  const lock = await lockSession(ctx, paths, server, () => ui.info('Waiting for another jitssh login to finish...'))
  try {
    const previous = await loadSession(ctx, paths, server, (await readConfig(paths)).servers[server]?.credential_store).catch(() => null)
    const result = await performLogin(ctx, paths, server, ui, {
      device: options.device === true,
      noBrowser: options.browser === false,
    })
    if (previous !== null) {
      // The old session is no longer needed: end it at the server (best effort).
      const discovery = await getDiscovery(ctx, paths, server)
      await revokeToken(ctx, discovery, previous.refresh_token).catch(() => undefined)
    }
    const who = result.identity ? ` as ${terminalSafe(result.identity.email || result.identity.sub)}` : ''
    const until = result.sessionExpiresAt ? ` (session valid until ${new Date(result.sessionExpiresAt).toLocaleString()})` : ''
    ui.info(`Logged in to ${server}${who}${until}.`)
    return 0
  } finally {
    await lock.release()
  }
}
