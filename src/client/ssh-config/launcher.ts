// The stable launcher: `jitssh ssh-config` writes ~/.jitssh/bin/jitssh (JITSSH_HOME/bin/jitssh), a small
// POSIX sh script, and the ssh config runs it instead of `/abs/node /abs/jitssh.js`. An nvm or Node upgrade,
// or a reinstall elsewhere, then no longer breaks every ssh with "No such file": the launcher execs the
// recorded CLI while it exists, else the `jitssh` on PATH, else prints one line naming the fix and exits 255.
// It adds one exec of /bin/sh to ssh-gen's fast path (see bench/figures/ssh-gen.ts).
// launcherProblems() names what is wrong with a block's program (for `jitssh doctor`); ssh-config --write
// points every other block of ours at the launcher too (repointBlockPrograms in src/ssh).
import { accessSync, constants, readFileSync, statSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { findManagedBlocks, readBlockPrograms, repointBlockPrograms } from '../../ssh/config.js'
import { ensurePrivateDir, readTextOrNull, writeFileAtomic } from '../files/atomic-files.js'
import type { JitsshPaths } from '../files/paths.js'

/** How this CLI runs: node and bin/jitssh.js, or (scriptPath null) a standalone executable. */
export interface CliProgram {
  execPath: string
  scriptPath: string | null
}

const HEADER = '#!/bin/sh\n# jitssh launcher'

/** JITSSH_HOME/bin/jitssh. */
export function launcherPath(paths: JitsshPaths): string {
  return join(paths.home, 'bin', 'jitssh')
}

const shellWord = (text: string) => `'${text.replaceAll("'", "'\\''")}'`

/** The files the launcher runs while they exist: [node, cli, ssh-gen entry] or [executable]. */
function recordedFiles(program: CliProgram): string[] {
  if (program.scriptPath === null) return [program.execPath]
  return [program.execPath, program.scriptPath, join(dirname(program.scriptPath), 'jitssh-ssh-gen.cjs')]
}

/** The launcher script for `program` (POSIX sh; every path single-quoted). */
export function renderLauncher(program: CliProgram, version: string): string {
  const [first, cli, sshGen] = recordedFiles(program).map((path) => {
    if (/[\0-\x1f\x7f]/.test(path)) throw new Error(`cannot record ${JSON.stringify(path)} in the launcher: it has a control character`)
    return shellWord(path)
  })
  const run =
    program.scriptPath === null
      ? [`exe=${first}`, 'if [ -x "$exe" ]; then exec "$exe" "$@"; fi', 'gone=$exe']
      : [
          `node=${first}`,
          `cli=${cli}`,
          `ssh_gen=${sshGen}`,
          'if [ -x "$node" ] && [ -f "$cli" ]; then',
          '  # ssh-gen runs before every connection: its CommonJS entry starts as fast as `node -e 0`.',
          '  if [ "$1" = ssh-gen ] && [ -f "$ssh_gen" ]; then exec "$node" "$ssh_gen" "$@"; fi',
          '  exec "$node" "$cli" "$@"',
          'fi',
          'gone=$cli',
        ]
  return [
    HEADER,
    `# Written by \`jitssh ssh-config\` (jitssh ${version}); the ssh config runs this path, so upgrading Node or`,
    '# moving jitssh does not break ssh. It runs the recorded jitssh while it exists, else the jitssh on PATH.',
    ...run,
    '# The recorded jitssh is gone (a Node upgrade, an uninstall): the one on PATH, but never this script again.',
    'if [ -z "${JITSSH_LAUNCHER:-}" ] && command -v jitssh >/dev/null 2>&1; then',
    '  JITSSH_LAUNCHER=1',
    '  export JITSSH_LAUNCHER',
    '  exec jitssh "$@"',
    'fi',
    'host=HOST',
    'prev=',
    'for arg in "$@"; do',
    '  if [ "$prev" = --hostname ]; then host=$arg; fi',
    '  prev=$arg',
    'done',
    'echo "jitssh: the jitssh CLI moved or was removed ($gone is gone and no jitssh is on PATH; reinstall it, then run: jitssh ssh-config --hostname $host --write to repair)" >&2',
    'exit 255',
    '',
  ].join('\n')
}

/** The files a launcher's text runs while they exist (null: not a jitssh launcher). */
export function launcherTargets(text: string): string[] | null {
  if (!text.startsWith(HEADER)) return null
  const targets: string[] = []
  for (const line of text.split('\n')) {
    const match = /^(?:node|cli|exe)=('(?:[^']|'\\'')*')$/.exec(line)
    if (match !== null) targets.push((match[1] as string).slice(1, -1).replaceAll("'\\''", "'"))
  }
  return targets
}

/** Writes the launcher (0755, atomically: an ssh running the old one is not disturbed); unchanged text is left alone. */
export async function installLauncher(paths: JitsshPaths, program: CliProgram, version: string): Promise<{ path: string; changed: boolean }> {
  const path = launcherPath(paths)
  const text = renderLauncher(program, version)
  if ((await readTextOrNull(path)) === text && isExecutable(path)) return { path, changed: false }
  await ensurePrivateDir(paths.home)
  await ensurePrivateDir(dirname(path))
  await writeFileAtomic(path, text, 0o755)
  return { path, changed: true }
}

/**
 * Points every jitssh block in `text` whose program is not `program` at it (posix only: Windows blocks
 * run node directly). Returns the new text and the host patterns of the blocks it changed.
 */
export function repointBlocks(text: string, program: readonly string[]): { text: string; hosts: string[] } {
  const lines = text.split('\n')
  const hosts: string[] = []
  for (const block of findManagedBlocks(text).reverse()) {
    const blockText = lines.slice(block.startLine, block.endLine + 1).join('\n')
    const current = readBlockPrograms(blockText, 'posix')
    if (current.proxy === null || current.exec === null) continue // not as we wrote it: launcherProblems() names it
    const same = (words: string[] | null) => words !== null && words.length === program.length && words.every((word, i) => word === program[i])
    if (same(current.proxy) && same(current.exec)) continue
    lines.splice(block.startLine, block.endLine - block.startLine + 1, ...repointBlockPrograms(blockText, program, 'posix').split('\n'))
    hosts.unshift(block.hostPattern)
  }
  return { text: lines.join('\n'), hosts }
}

export type LauncherProblemCode = 'ERR_BLOCK_UNREADABLE' | 'ERR_PROGRAM_MISSING' | 'ERR_LAUNCHER_MISSING' | 'ERR_LAUNCHER_STALE' | 'WARN_NOT_LAUNCHER' | 'WARN_LAUNCHER_FALLBACK'

export interface LauncherProblem {
  code: LauncherProblemCode
  /** fail: ssh through this block fails now; warn: it works, but an upgrade or reinstall will break it (or already went around it). */
  severity: 'fail' | 'warn'
  message: string
  fix: string
}

export interface LauncherCheckOptions {
  platform: NodeJS.Platform
  /** For PATH, where the launcher looks when its recorded jitssh is gone. */
  env: Record<string, string | undefined>
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** The first executable `jitssh` on PATH that is not `except` (the launcher itself), or null. */
function jitsshOnPath(env: Record<string, string | undefined>, except: string): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, 'jitssh')
    if (candidate !== except && isExecutable(candidate)) return candidate
  }
  return null
}

/**
 * What is wrong with the program a jitssh block runs (the block's text, markers included), for `jitssh doctor`:
 * empty when ssh through it works and will survive an upgrade. Each problem says whether ssh fails now.
 */
export function launcherProblems(block: string, options: LauncherCheckOptions): LauncherProblem[] {
  const host = /^# >>> jitssh (\S+) >>>/m.exec(block)?.[1] ?? 'HOST'
  const fix = `run: jitssh ssh-config --hostname ${host} --write`
  const platform = options.platform === 'win32' ? 'win32' : 'posix'
  const { proxy, exec } = readBlockPrograms(block, platform)
  if (proxy === null || exec === null) {
    return [{ code: 'ERR_BLOCK_UNREADABLE', severity: 'fail', message: `the jitssh block for ${host} has no ProxyCommand or Match exec line jitssh wrote`, fix }]
  }
  const problems: LauncherProblem[] = []
  const files = [...new Set([...proxy, ...exec].filter((word) => (platform === 'win32' ? /^([A-Za-z]:[\\/]|\\\\)/.test(word) : word.startsWith('/'))))]
  const missing = files.filter((file) => !exists(file))
  const launcher = proxy.length === 1 && exec.length === 1 && proxy[0] === exec[0] ? (proxy[0] as string) : null
  if (launcher === null) {
    if (missing.length > 0) {
      problems.push({ code: 'ERR_PROGRAM_MISSING', severity: 'fail', message: `the jitssh block for ${host} runs ${missing.join(' and ')}, which no longer exist${missing.length === 1 ? 's' : ''} (ssh fails with "No such file")`, fix })
    } else if (platform === 'posix') {
      problems.push({ code: 'WARN_NOT_LAUNCHER', severity: 'warn', message: `the jitssh block for ${host} runs ${proxy.join(' ')} directly, which a Node upgrade or a reinstall elsewhere will break`, fix })
    }
    return problems
  }
  const text = isExecutable(launcher) ? readLauncherText(launcher) : null
  const targets = text === null ? null : launcherTargets(text)
  if (text === null || targets === null) {
    if (missing.length > 0 || text === null) {
      return [{ code: 'ERR_LAUNCHER_MISSING', severity: 'fail', message: `the jitssh block for ${host} runs ${launcher}, which ${missing.length > 0 ? 'no longer exists' : 'is not executable'}`, fix }]
    }
    return problems // a program of the user's own choosing: not ours to judge
  }
  const gone = targets.filter((file) => !exists(file))
  if (gone.length > 0) {
    const onPath = jitsshOnPath(options.env, launcher)
    problems.push(
      onPath === null
        ? { code: 'ERR_LAUNCHER_STALE', severity: 'fail', message: `the launcher ${launcher} runs ${gone.join(' and ')}, which no longer exist${gone.length === 1 ? 's' : ''}, and no jitssh is on PATH`, fix: `reinstall jitssh, then ${fix}` }
        : { code: 'WARN_LAUNCHER_FALLBACK', severity: 'warn', message: `the launcher ${launcher} runs ${gone.join(' and ')}, which no longer exist${gone.length === 1 ? 's' : ''}; it falls back to ${onPath}`, fix },
    )
  }
  return problems
}

function readLauncherText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}
