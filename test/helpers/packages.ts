/**
 * The installable artefacts, built on demand for the install tests (`npm run build` makes the packages and
 * `npm run build:sea` the standalone executable; a test run rebuilds what is missing or older than its sources):
 *
 *   const { cli, server } = await ensurePackages()      // dist/packages/jitssh-<v>.tgz, jitssh-server-<v>.tgz
 *   const prefix = await npmInstallGlobal(cli, dir)      // npm install -g --prefix dir: dir/bin/jitssh
 *   const exe = await ensureStandalone()                 // dist/sea/jitssh
 */
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { acquireLock } from '../../src/client/files/lock.js'
import { REPO_ROOT, ensureBuilt } from './cli.js'

const SOURCES = ['src', 'bin', 'man', 'packaging', 'scripts', 'package.json']
const TSX = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs')

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 180_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`))
      else resolve({ stdout, stderr })
    })
  })
}

async function newestSource(path: string): Promise<number> {
  const info = await stat(path)
  if (!info.isDirectory()) return info.mtimeMs
  let max = 0
  for (const entry of await readdir(path)) max = Math.max(max, await newestSource(join(path, entry)))
  return max
}

async function isFresh(artefacts: string[]): Promise<boolean> {
  let built = Infinity
  for (const artefact of artefacts) {
    try {
      built = Math.min(built, (await stat(artefact)).mtimeMs)
    } catch {
      return false
    }
  }
  let newest = 0
  for (const source of SOURCES) newest = Math.max(newest, await newestSource(join(REPO_ROOT, source)))
  return newest < built
}

async function underLock<T>(name: string, f: () => Promise<T>): Promise<T> {
  await mkdir(join(REPO_ROOT, '.tmp'), { recursive: true })
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
  const lock = await acquireLock(join(REPO_ROOT, '.tmp', name), { now: Date.now, sleep, staleMs: 300_000, timeoutMs: 300_000 })
  try {
    return await f()
  } finally {
    await lock.release()
  }
}

export async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version
}

/** The two npm tarballs (scripts/build-packages.ts), rebuilt when missing or stale. */
export async function ensurePackages(): Promise<{ cli: string; server: string }> {
  const version = await packageVersion()
  const tarballs = { cli: join(REPO_ROOT, 'dist', 'packages', `jitssh-${version}.tgz`), server: join(REPO_ROOT, 'dist', 'packages', `jitssh-server-${version}.tgz`) }
  await ensureBuilt()
  await underLock('packages.lock', async () => {
    if (!(await isFresh([tarballs.cli, tarballs.server]))) await run(process.execPath, [TSX, join(REPO_ROOT, 'scripts', 'build-packages.ts')])
  })
  return tarballs
}

/** The standalone executable (scripts/build-sea.ts), rebuilt when missing or stale. */
export async function ensureStandalone(): Promise<string> {
  const executable = join(REPO_ROOT, 'dist', 'sea', 'jitssh')
  await underLock('sea.lock', async () => {
    if (!(await isFresh([executable]))) await run(process.execPath, [TSX, join(REPO_ROOT, 'scripts', 'build-sea.ts')])
  })
  return executable
}

/**
 * `npm install -g --prefix <prefix> <tarball>`, as a person installs it (install scripts allowed, so the test
 * would see one that compiles); from npm's cache when it has what is needed, else the registry.
 */
export async function npmInstallGlobal(tarball: string, prefix: string, extraArgs: string[] = []): Promise<void> {
  await run('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...extraArgs, tarball], {
    cwd: prefix,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  })
}

/** Every package under a node_modules tree: name → its package.json. */
export async function installedPackages(nodeModules: string): Promise<Map<string, { scripts?: Record<string, string>; gypfile?: boolean; path: string }>> {
  const found = new Map<string, { scripts?: Record<string, string>; gypfile?: boolean; path: string }>()
  const visit = async (dir: string): Promise<void> => {
    let entries: string[]
    try {
      entries = await readdir(dir)
    } catch {
      return
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue
      if (entry.startsWith('@')) {
        await visit(join(dir, entry))
        continue
      }
      const path = join(dir, entry)
      try {
        const manifest = JSON.parse(await readFile(join(path, 'package.json'), 'utf8')) as { name: string; scripts?: Record<string, string>; gypfile?: boolean }
        found.set(manifest.name, { ...manifest, path })
      } catch {
        continue
      }
      await visit(join(path, 'node_modules'))
    }
  }
  await visit(nodeModules)
  return found
}
