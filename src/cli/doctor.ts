// jitssh doctor [[user@]host] [--json] [--config FILE] [--server URL]: each check of the path from this machine
// to the host, PASS / WARN / FAIL with the fix, and the first failure named as the cause.
import type { Command } from 'commander'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { JitsshError } from '../shared/errors.js'
import type { ClientContext } from '../client/context.js'
import { runDoctor } from '../client/doctor/doctor.js'
import type { DoctorReport } from '../client/doctor/report.js'
import { jitsshPaths } from '../client/files/paths.js'
import { jsonText, terminalSafe } from '../client/terminal-text.js'
import type { RunCommand } from './command.js'
import { parseHostArg, parseServerArg } from './host-arg.js'
import { useColour } from './output.js'

export interface DoctorOptions {
  /** `host` or `user@host`, as ssh is given it. */
  host?: string
  json?: boolean
  config?: string
  server?: string
}

export function registerDoctor(program: Command, ctx: ClientContext, run: RunCommand<DoctorOptions>): void {
  program
    .command('doctor')
    .description('check each step from this machine to a host (server, session, clock, ssh config, certificate, policy, bastion, ssh) and name what is wrong')
    .argument('[host]', 'the host as you give it to ssh (host or user@host); without it, only the checks that need none')
    .option('--json', 'print JSON (for scripts): {version, server, host, login, checks, cause, exit_code}')
    .option('--config <file>', 'the ssh config file ssh is run with (ssh -F); default: ssh\'s own (~/.ssh/config)')
    .option('--server <url>', 'the jitssh server (default: the last one logged in to)')
    .action(async (host: string | undefined, options: Omit<DoctorOptions, 'host'>) => {
      await run(ctx, { ...(host !== undefined ? { host } : {}), ...options })
    })
}

const LOGIN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/

function parseTarget(input: string): { host: string; user?: string } {
  const at = input.lastIndexOf('@')
  const user = at >= 0 ? input.slice(0, at) : undefined
  if (user !== undefined && !LOGIN.test(user)) throw new JitsshError('ERR_USAGE', `not a login: ${JSON.stringify(user.slice(0, 40))}`, { hint: 'e.g. jitssh doctor deploy@vm.example.com' })
  const host = parseHostArg(at >= 0 ? input.slice(at + 1) : input, { allowPattern: false, allowPort: false }).host.toLowerCase()
  return { host, ...(user !== undefined ? { user } : {}) }
}

/** Exit 0 when nothing failed, 4 when the cause is the login, 1 for any other failure. */
export async function doctorCommand(ctx: ClientContext, options: DoctorOptions): Promise<number> {
  const target = options.host === undefined ? undefined : parseTarget(options.host)
  const paths = jitsshPaths(ctx.env, ctx.homedir)
  const report = await runDoctor(ctx, {
    ...(options.server !== undefined ? { server: parseServerArg(options.server)! } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(options.config !== undefined ? { configFile: resolve(ctx.cwd, options.config) } : {}),
    certsDirInConfig: sshVisible(paths.certs, ctx),
  })
  ctx.stdout.write(options.json === true ? `${jsonText(report)}\n` : renderReport(report, useColour(ctx)))
  return report.exit_code
}

function sshVisible(absolute: string, ctx: ClientContext): string {
  const rel = relative(ctx.sshHomedir, absolute)
  if (ctx.sshHomedir !== '' && rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return `~/${rel.split(sep).join('/')}`
  return absolute
}

const LABEL: Record<string, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' }
const COLOUR: Record<string, string> = { pass: '32', warn: '33', fail: '31', skip: '2' }

export function renderReport(report: DoctorReport, colour: boolean): string {
  const paint = (status: string, text: string) => (colour ? `\x1b[${COLOUR[status]}m${text}\x1b[0m` : text)
  const width = Math.max(...report.checks.map((check) => check.id.length))
  const lines = [`jitssh doctor${report.host !== null ? ` ${report.host}` : ''}${report.login !== null ? ` (as ${report.login})` : ''}${report.server !== null ? `, server ${report.server}` : ''}`]
  for (const check of report.checks) {
    lines.push(`${paint(check.status, LABEL[check.status]!)}  ${check.id.padEnd(width)}  ${terminalSafe(check.summary)}`)
    if (check.fix !== undefined && check.status !== 'pass') lines.push(`${' '.repeat(width + 8)}fix: ${terminalSafe(check.fix)}`)
  }
  lines.push(report.cause === null
    ? (report.checks.some((check) => check.status === 'warn') ? 'No failure; see the warnings above.' : 'Everything checked works.')
    : `Cause: ${report.cause.check}: ${terminalSafe(report.cause.summary)}${report.cause.fix !== null ? ` (fix: ${terminalSafe(report.cause.fix)})` : ''}`)
  return `${lines.join('\n')}\n`
}
