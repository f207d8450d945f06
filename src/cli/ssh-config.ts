// jitssh ssh-config --hostname H [--hostname H2 ...] [--write | --remove] [--config FILE] [--server URL]
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
import { describeSource, findSetting, resolveSshRoute } from '../client/ssh-config/route-check.js'
import { routeProblem } from '../client/ssh-config/route-problem.js'
import { grantedLogins, haveSession, type HostLogins } from '../client/ssh-config/logins.js'
import { removeFile, writeFileAtomic } from '../client/files/atomic-files.js'
import type { LoginUi } from '../client/auth/login.js'
import { readSshConfig, rewriteSshConfig, BACKUP_SUFFIX } from '../client/ssh-config/file.js'
import { installLauncher, launcherPath, repointBlocks } from '../client/ssh-config/launcher.js'
import type { RunCommand } from './command.js'
import { parseTtlArg } from './ssh-gen.js'
import { parseHostArg, parseServerArg } from './host-arg.js'
import { createUi } from './output.js'
import { VERSION } from '../shared/version.js'

export interface SshConfigOptions {
  /** Every --hostname given, in order (the option may be repeated). */
  hostname?: string[]
  /** Accepted for compatibility: short-lived certificates are the only mode, and the default. */
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
    .option('--hostname <host>', 'host name or pattern, e.g. vm.example.com or *.prod.example.com (repeat for more hosts)', collect)
    .option('--short-lived-cert', 'authenticate with a short-lived certificate from ssh-gen (the default and only mode)')
    .option('--write', 'put the block into the ssh config file instead of printing it')
    .option('--remove', 'remove the block for this host from the ssh config file')
    .option('--config <file>', 'the ssh config file for --write/--remove (default: ~/.ssh/config)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .option('--ttl <duration>', 'ask for certificates of this lifetime, e.g. 15m (the policy caps it; default: its maximum)')
    .action(async (options: SshConfigOptions) => {
      await run(ctx, options)
    })
}

/** Commander's accumulator for a repeatable option. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

export async function sshConfigCommand(ctx: ClientContext, options: SshConfigOptions): Promise<number> {
  // Everything from the command line is checked before any file is read or written.
  const hostArgs = options.hostname === undefined || options.hostname.length === 0 ? [undefined] : options.hostname
  const hosts = [...new Set(hostArgs.map((arg) => parseHostArg(arg, { allowPattern: true, allowPort: false }).host))]
  const explicitServer = parseServerArg(options.server)
  if (options.ttl !== undefined) parseTtlArg(options.ttl)
  if (options.write === true && options.remove === true) throw new JitsshError('ERR_USAGE', '--write and --remove exclude each other')
  const file = options.config !== undefined ? resolve(ctx.cwd, options.config) : resolve(ctx.homedir, '.ssh', 'config')
  const ui = createUi(ctx)

  if (options.remove === true) {
    const result = await rewriteSshConfig(file, (text) => hosts.reduce((current, host) => withConfigErrors(file, () => removeManagedBlock(current, host)), text))
    ui.info(result.changed ? `Removed the jitssh block for ${hosts.join(', ')} from ${result.file}.` : `No jitssh block for ${hosts.join(', ')} in ${result.file}; nothing changed.`)
    return 0
  }
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const server = await resolveServer(paths, explicitServer)
  if (server === null) throw new JitsshError('ERR_USAGE', 'which server? there is no default yet', { hint: 'pass --server URL, or run jitssh login --server URL first' })
  const programs = blockPrograms(ctx, paths)
  const { text: existing } = await readSshConfig(file)
  if (existing !== null) for (const host of hosts) await refuseAlias(ctx, file, host)
  const logins = await loginsFor(ctx, ui, paths, server, hosts)
  const blocks = hosts.map((host) => ({
    host,
    text: withConfigErrors(file, () =>
      renderManagedBlock({
        hostPattern: host,
        program: programs.program,
        execProgram: programs.execProgram,
        server,
        certsDir: sshVisiblePath(paths.certs, ctx),
        knownHostsFile: sshVisiblePath(paths.knownHosts, ctx),
        platform: ctx.platform === 'win32' ? 'win32' : 'posix',
        ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
        ...(logins.get(host)?.user !== undefined ? { user: logins.get(host)!.user! } : {}),
      }, ctx.platform === 'win32' ? '\r\n' : '\n'),
    ),
  }))

  if (existing !== null && options.write !== true) {
    for (const { host } of blocks) {
      const others = withConfigErrors(file, () => removeManagedBlock(existing, host))
      for (const setting of conflictingProxySettings(others, host)) {
        ui.warn(`${file} already sets "${setting.slice(0, 120)}" for ${host}; ssh uses the first value it reads, so jitssh's ProxyCommand would not apply. Remove that line for this host.`)
      }
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
    for (const { text } of blocks) ctx.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
    return 0
  }
  let repointed: string[] = []
  const result = await rewriteSshConfig(
    file,
    (text) =>
      withConfigErrors(file, () => {
        const next = blocks.reduce((current, block) => upsertManagedBlock(current, block.text, block.host), text)
        if (ctx.platform === 'win32') return next
        // Blocks of ours that still run node directly (written before the launcher, or stale after an upgrade).
        const repaired = repointBlocks(next, programs.program)
        repointed = repaired.hosts
        return repaired.text
      }),
    async (candidate, existingPath) => {
      await verifyWithSsh(ctx, ui, file, candidate, existingPath)
      // The real ssh, reading the new file as it would from now on: does each host go through jitssh?
      for (const host of hosts) await refuseShadowed(ctx, file, candidate, host, server)
      await writeLauncher()
    },
  )
  await writeLauncher() // also when the file was right already: a stale launcher is repaired
  const names = hosts.join(', ')
  if (!result.changed) for (const host of hosts) await refuseShadowed(ctx, file, result.file, host, server)
  if (repointed.length > 0) ui.info(`Repaired the jitssh block${repointed.length === 1 ? '' : 's'} for ${repointed.join(', ')}: ${repointed.length === 1 ? 'it now runs' : 'they now run'} ${programs.program[0]}.`)
  if (!result.changed) ui.info(`${result.file} already has this jitssh block for ${names}; nothing changed.`)
  else ui.info(`${result.created ? 'Created' : 'Updated'} ${result.file} for ${names}${result.backup ? ` (original kept in ${result.file}${BACKUP_SUFFIX})` : ''}.`)
  for (const [host, found] of logins) {
    if (found.user !== undefined) ui.info(`${host}: User ${found.user} (your only login there; ssh other@${host} still works for another).`)
    else if (found.logins.length > 1) ui.info(`${host}: you may log in as ${found.logins.join(', ')}: say which, e.g. ssh ${found.logins[0]}@${host}`)
  }
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

/** The file ssh reads for this config: undefined when it is ssh's own default (then ssh also reads the system file). */
function sshConfigArg(ctx: ClientContext, file: string): string | undefined {
  return ctx.sshHomedir !== '' && file === resolve(ctx.sshHomedir, '.ssh', 'config') ? undefined : file
}

/**
 * `--hostname myvm` where myvm is the user's alias (Host myvm + HostName vm.example.com): jitssh's block is
 * matched against the name ssh finally connects to, so a block for myvm would never apply.
 */
async function refuseAlias(ctx: ClientContext, file: string, host: string): Promise<void> {
  if (/[*?]/.test(host)) return
  const result = await resolveSshRoute(host, { env: ctx.env, configFile: sshConfigArg(ctx, file), cwd: ctx.cwd })
  if (result.kind !== 'ok' || result.route.hostname.toLowerCase() === host.toLowerCase()) return
  const real = result.route.hostname
  const source = findSetting(result.route, 'HostName')
  throw new JitsshError('ERR_USAGE', `${host} is an alias for ${real}${source ? ` (${describeSource(source)})` : ''}: jitssh's block is matched against the name ssh connects to, so a block for ${host} would never apply`, {
    hint: `jitssh ssh-config --hostname ${real} (ssh ${host} then goes through jitssh too)`,
  })
}

/**
 * Before the new file replaces `file`: the real `ssh -G host` reading it (`candidate`) as it would from then
 * on must go through our ProxyCommand; else name what shadows it, and nothing is changed. For ssh's default
 * file the system file is read after it too, as a plain `ssh host` does (a wrapper that includes both).
 */
async function refuseShadowed(ctx: ClientContext, file: string, candidate: string, hostPattern: string, server: string): Promise<void> {
  // A pattern is checked with a name it matches (ssh -G needs a host).
  const host = hostPattern.replace(/\*/g, 'jitssh-check').replace(/\?/g, 'x')
  const asDefault = sshConfigArg(ctx, file) === undefined
  const wrapper = asDefault ? join(dirname(candidate), `.jitssh-route-check.${ctx.pid}.conf`) : undefined
  let result: Awaited<ReturnType<typeof resolveSshRoute>>
  try {
    if (wrapper !== undefined) await writeFileAtomic(wrapper, `Include "${candidate}"\nInclude "${systemSshConfig(ctx)}"\n`, 0o600)
    result = await resolveSshRoute(host, { env: ctx.env, configFile: wrapper ?? candidate, cwd: ctx.cwd })
  } finally {
    if (wrapper !== undefined) await removeFile(wrapper).catch(() => false)
  }
  if (result.kind !== 'ok') return // ssh missing or unable to read it: verifyWithSsh has said so already
  const problem = routeProblem(result.route, server)
  if (problem !== null) {
    const said = problem.because.split(candidate).join(file) // ssh named the temp file it read
    throw new JitsshError('ERR_CONFIG_CONFLICT', `ssh ${host} would not go through jitssh: ${said}`, { hint: `${problem.fix}; nothing was changed` })
  }
}

function systemSshConfig(ctx: ClientContext): string {
  return ctx.platform === 'win32' ? `${ctx.env.PROGRAMDATA ?? 'C:\\ProgramData'}\\ssh\\ssh_config`.replaceAll('\\', '/') : '/etc/ssh/ssh_config'
}

/** The person's logins per host, when logged in to `server` (a warning, and none, when the server cannot say). */
async function loginsFor(ctx: ClientContext, ui: LoginUi, paths: JitsshPaths, server: string, hosts: string[]): Promise<Map<string, HostLogins>> {
  if (!(await haveSession(ctx, paths, server))) return new Map()
  try {
    return await grantedLogins(ctx, paths, server, hosts)
  } catch (error) {
    ui.warn(`could not ask ${server} which login to use (${error instanceof JitsshError ? error.message : String(error)}); the block sets no User`)
    return new Map()
  }
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
