// jitssh ssh-config --hostname H --short-lived-cert [--write | --remove] [--config FILE] [--server URL]
import type { Command } from 'commander'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { JitsshError } from '../shared/errors.js'
import { SshFormatError } from '../ssh/errors.js'
import { removeManagedBlock, renderManagedBlock, upsertManagedBlock } from '../ssh/config.js'
import type { ClientContext } from '../client/context.js'
import { jitsshPaths, type JitsshPaths } from '../client/files/paths.js'
import { resolveServer } from '../client/auth/tokens.js'
import { conflictingProxySettings } from '../client/ssh-config/conflicts.js'
import { checkSshConfig } from '../client/ssh-config/check.js'
import { readSshConfig, rewriteSshConfig, BACKUP_SUFFIX } from '../client/ssh-config/file.js'
import { installLauncher, launcherPath, repointBlocks } from '../client/ssh-config/launcher.js'
import type { RunCommand } from './command.js'
import { parseTtlArg } from './ssh-gen.js'
import { parseHostArg, parseServerArg } from './host-arg.js'
import { createUi } from './output.js'
import { VERSION } from '../shared/version.js'

export interface SshConfigOptions {
  hostname?: string
  shortLivedCert?: boolean
  write?: boolean
  remove?: boolean
  config?: string
  server?: string
  ttl?: string
}

export function registerSshConfig(program: Command, ctx: ClientContext, run: RunCommand<SshConfigOptions>): void {
  program
    .command('ssh-config')
    .description('print (or write into ~/.ssh/config) the ssh config that routes a host through jitssh')
    .option('--hostname <host>', 'host name or pattern, e.g. vm.example.com or *.prod.example.com')
    .option('--short-lived-cert', 'authenticate with a short-lived certificate from ssh-gen (the only mode so far)')
    .option('--write', 'put the block into the ssh config file instead of printing it')
    .option('--remove', 'remove the block for this host from the ssh config file')
    .option('--config <file>', 'the ssh config file for --write/--remove (default: ~/.ssh/config)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .option('--ttl <duration>', 'ask for certificates of this lifetime, e.g. 15m (the policy caps it; default: its maximum)')
    .action(async (options: SshConfigOptions) => {
      await run(ctx, options)
    })
}

export async function sshConfigCommand(ctx: ClientContext, options: SshConfigOptions): Promise<number> {
  // Everything from the command line is checked before any file is read or written.
  const spec = parseHostArg(options.hostname, { allowPattern: true, allowPort: false })
  const explicitServer = parseServerArg(options.server)
  if (options.ttl !== undefined) parseTtlArg(options.ttl)
  if (options.write === true && options.remove === true) throw new JitsshError('ERR_USAGE', '--write and --remove exclude each other')
  const file = options.config !== undefined ? resolve(ctx.cwd, options.config) : resolve(ctx.homedir, '.ssh', 'config')
  const ui = createUi(ctx)

  if (options.remove === true) {
    const result = await rewriteSshConfig(file, (text) => withConfigErrors(file, () => removeManagedBlock(text, spec.host)))
    ui.info(result.changed ? `Removed the jitssh block for ${spec.host} from ${result.file}.` : `No jitssh block for ${spec.host} in ${result.file}; nothing changed.`)
    return 0
  }
  if (options.shortLivedCert !== true) {
    throw new JitsshError('ERR_USAGE', 'ssh-config needs --short-lived-cert (the only mode so far)', { hint: `jitssh ssh-config --hostname ${spec.host} --short-lived-cert` })
  }
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, explicitServer)
  if (server === null) throw new JitsshError('ERR_USAGE', 'which server? there is no default yet', { hint: 'pass --server URL, or run jitssh login --server URL first' })
  const programs = blockPrograms(ctx, paths)
  const block = withConfigErrors(file, () =>
    renderManagedBlock({
      hostPattern: spec.host,
      program: programs.program,
      execProgram: programs.execProgram,
      server,
      certsDir: sshVisiblePath(paths.certs, ctx),
      knownHostsFile: sshVisiblePath(paths.knownHosts, ctx),
      platform: ctx.platform === 'win32' ? 'win32' : 'posix',
      ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
    }, ctx.platform === 'win32' ? '\r\n' : '\n'),
  )

  const { text: existing } = await readSshConfig(file)
  if (existing !== null) {
    const others = withConfigErrors(file, () => removeManagedBlock(existing, spec.host))
    for (const setting of conflictingProxySettings(others, spec.host)) {
      ui.warn(`${file} already sets "${setting.slice(0, 120)}" for ${spec.host}; ssh uses the first value it reads, so jitssh's ProxyCommand would not apply. Remove that line for this host.`)
    }
  }
  // The launcher the block runs is written once the block is sure to be used: printed, or accepted by ssh.
  const writeLauncher = async () => {
    if (programs.launcher === null) return
    const { path, changed } = await installLauncher(paths, { execPath: ctx.execPath, scriptPath: ctx.scriptPath }, VERSION)
    if (changed && options.write !== true) ui.info(`Wrote ${path}, which this block runs (it finds jitssh after Node upgrades and reinstalls).`)
  }
  if (options.write !== true) {
    await writeLauncher()
    ctx.stdout.write(block.endsWith('\n') ? block : `${block}\n`)
    return 0
  }
  let repointed: string[] = []
  const result = await rewriteSshConfig(
    file,
    (text) =>
      withConfigErrors(file, () => {
        const next = upsertManagedBlock(text, block, spec.host)
        if (ctx.platform === 'win32') return next
        // Blocks of ours that still run node directly (written before the launcher, or stale after an upgrade).
        const repaired = repointBlocks(next, programs.program)
        repointed = repaired.hosts
        return repaired.text
      }),
    async (candidate, existing) => {
      await verifyWithSsh(ctx, ui, file, candidate, existing)
      await writeLauncher()
    },
  )
  await writeLauncher() // also when the file was right already: a stale launcher is repaired
  if (repointed.length > 0) ui.info(`Repaired the jitssh block${repointed.length === 1 ? '' : 's'} for ${repointed.join(', ')}: ${repointed.length === 1 ? 'it now runs' : 'they now run'} ${programs.program[0]}.`)
  if (!result.changed) ui.info(`${result.file} already has this jitssh block for ${spec.host}; nothing changed.`)
  else ui.info(`${result.created ? 'Created' : 'Updated'} ${result.file} for ${spec.host}${result.backup ? ` (original kept in ${result.file}${BACKUP_SUFFIX})` : ''}.`)
  return 0
}

/**
 * What the block runs. POSIX: the launcher JITSSH_HOME/bin/jitssh (src/client/ssh-config/launcher.ts), which
 * survives Node upgrades and reinstalls. Windows: node and the script directly (no POSIX shell to run a launcher).
 */
function blockPrograms(ctx: ClientContext, paths: JitsshPaths): { program: string[]; execProgram: string[]; launcher: string | null } {
  if (ctx.platform !== 'win32') {
    const launcher = launcherPath(paths)
    return { program: [launcher], execProgram: [launcher], launcher }
  }
  if (ctx.scriptPath === null) return { program: [ctx.execPath], execProgram: [ctx.execPath], launcher: null }
  // Match exec runs before every connection: bin/jitssh-ssh-gen.cjs starts as fast as `node -e 0`.
  return { program: [ctx.execPath, ctx.scriptPath], execProgram: [ctx.execPath, join(dirname(ctx.scriptPath), 'jitssh-ssh-gen.cjs')], launcher: null }
}

/** The installed ssh must accept the new file before it replaces the old one (see src/client/ssh-config/check.ts). */
async function verifyWithSsh(ctx: ClientContext, ui: ReturnType<typeof createUi>, file: string, candidate: string, existing: string | null): Promise<void> {
  const verdict = await checkSshConfig(candidate, ctx.env)
  if (verdict.kind === 'ok') return
  if (verdict.kind === 'no-ssh') return ui.warn(`ssh is not on PATH, so the new ${file} was not checked with it`)
  const before = existing === null ? null : await checkSshConfig(existing, ctx.env)
  if (before?.kind === 'rejected') {
    throw new JitsshError('ERR_INVALID_CONFIG', `ssh already rejects ${file}: ${before.message}`, { hint: 'fix that first; nothing was changed' })
  }
  const said = verdict.message.split(candidate).join(file) // ssh names the temp file it read
  throw new JitsshError('ERR_INVALID_CONFIG', `the ssh on this machine would reject ${file} with the jitssh block: ${said}`, {
    hint: 'jitssh needs OpenSSH 8.2 or later (Match final; see: ssh -V); nothing was changed',
  })
}

function withConfigErrors<T>(file: string, f: () => T): T {
  try {
    return f()
  } catch (error) {
    if (error instanceof SshFormatError) {
      throw new JitsshError(error.code === 'ERR_INVALID_HOSTNAME' ? 'ERR_INVALID_HOSTNAME' : 'ERR_INVALID_CONFIG', `${file}: ${error.message}`, {
        cause: error,
        hint: error.code === 'ERR_INVALID_CONFIG' ? 'fix or remove the jitssh marker lines by hand; nothing was changed' : undefined,
      } as { cause: unknown; hint?: string })
    }
    throw error
  }
}

/** `~/...` when under the home ssh expands `~` to, else the absolute path. */
function sshVisiblePath(absolute: string, ctx: ClientContext): string {
  const rel = relative(ctx.sshHomedir, absolute)
  if (ctx.sshHomedir !== '' && rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return `~/${rel.split(sep).join('/')}`
  return absolute
}
