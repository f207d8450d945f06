/**
 * npm run build:sea: the standalone `jitssh` executable for machines without Node (Node's single-executable
 * applications). Its main script is ssh-gen's fast path only (src/cli/standalone.ts, with a V8 code cache),
 * so that the check ssh runs before every connection starts as fast as a bare node; the full CLI, bundled as
 * for the npm package (scripts/cli-bundle.ts), is an asset beside it with a code cache of its own, compiled
 * only when needed. The blob goes into a copy of this node binary (stripped of its debug symbols) through
 * postject. Output: dist/sea/jitssh, for this platform and architecture; Linux and
 * macOS (Windows would need a signed .exe and has no POSIX launcher: not built here).
 *
 * The executable carries no native addon, so it keeps logins in ~/.jitssh/credentials.json (0600), not the
 * OS keychain. Requires the devDependency postject.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI_ASSET, CLI_CACHE_ASSET, wrapCliSource } from '../src/cli/standalone-cli.js'
import { VERSION } from '../src/shared/version.js'
import { bundleCli } from './cli-bundle.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const OUT = join(ROOT, 'dist', 'sea')
const EXECUTABLE = join(OUT, 'jitssh')
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const log = (line: string) => void process.stderr.write(`build-sea: ${line}\n`)

// The main script of a single-executable application gets a require() for built-in modules only, which
// warns on anything else; the bundle's few optional packages (see CLI_EXTERNAL) must fail like a missing module.
const BUILTIN_REQUIRE_ONLY = `require = ((load) => {
  const { isBuiltin } = load('node:module');
  return Object.assign((id) => {
    if (isBuiltin(id)) return load(id);
    const error = new Error("Cannot find module '" + id + "' (the standalone jitssh executable carries none)");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }, load);
})(require);`

/** postject's command line (run as a child: its ELF library prints a page of harmless warnings, kept unless it fails). */
function postjectCli(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('postject/package.json')), 'dist', 'cli.js')
  } catch {
    throw new Error('postject is not installed: npm install (it is a devDependency)')
  }
}

function quiet(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

async function main(): Promise<void> {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  if (major < 20 || (major === 20 && minor < 18)) throw new Error(`Node ${process.version} cannot build it: 20.18 or later`)
  if (process.platform === 'win32') throw new Error('the standalone executable is built for Linux and macOS only')
  if (!readFileSync(process.execPath).includes(FUSE)) throw new Error(`${process.execPath} was built without single-executable support`)
  const postject = postjectCli()

  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })
  const main = join(OUT, 'jitssh-main.cjs')
  const cli = join(OUT, CLI_ASSET)
  const cache = join(OUT, CLI_CACHE_ASSET)
  await bundleCli({ entry: join(ROOT, 'src/cli/standalone.ts'), outfile: main, banner: BUILTIN_REQUIRE_ONLY })
  await bundleCli({ entry: join(ROOT, 'src/cli/entry.ts'), outfile: cli })
  // The code cache of the full CLI, made by this very node binary (the executable is a copy of it) without
  // any flags of ours, so that V8 accepts it at run time.
  const makeCache = `const vm = require('node:vm'), fs = require('node:fs');
const script = new vm.Script(fs.readFileSync(process.argv[1], 'utf8'), { filename: ${JSON.stringify(CLI_ASSET)} });
fs.writeFileSync(process.argv[2], script.createCachedData());`
  const wrapped = join(OUT, 'jitssh-cli.wrapped.cjs')
  writeFileSync(wrapped, wrapCliSource(readFileSync(cli, 'utf8')))
  const { NODE_OPTIONS: _ignored, ...plainEnv } = process.env
  execFileSync(process.execPath, ['-e', makeCache, wrapped, cache], { env: plainEnv, stdio: ['ignore', 'ignore', 'pipe'] })
  rmSync(wrapped)
  const config = join(OUT, 'sea-config.json')
  const blob = join(OUT, 'jitssh.blob')
  // useCodeCache: V8 gets the main script compiled with the blob.
  const seaConfig = { main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets: { [CLI_ASSET]: cli, [CLI_CACHE_ASSET]: cache } }
  writeFileSync(config, `${JSON.stringify(seaConfig, null, 2)}\n`)
  execFileSync(process.execPath, ['--experimental-sea-config', config], { env: plainEnv, stdio: ['ignore', 'ignore', 'pipe'] })

  copyFileSync(process.execPath, EXECUTABLE)
  chmodSync(EXECUTABLE, 0o755)
  if (process.platform === 'darwin') {
    quiet('codesign', ['--remove-signature', EXECUTABLE])
  } else {
    try {
      quiet('strip', [EXECUTABLE]) // node's debug symbols: 12 MB of the 98 MB; .dynsym stays
    } catch {
      log('strip is not available; keeping the debug symbols')
    }
  }
  try {
    execFileSync(process.execPath, [postject, EXECUTABLE, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE, ...(process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer }
    throw new Error(`postject failed:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`)
  }
  if (process.platform === 'darwin') quiet('codesign', ['--sign', '-', EXECUTABLE])

  const version = execFileSync(EXECUTABLE, ['--version'], { encoding: 'utf8' }).trim()
  if (version !== VERSION) throw new Error(`${EXECUTABLE} --version printed ${JSON.stringify(version)}, not ${VERSION}`)
  rmSync(blob)
  log(`${EXECUTABLE} (jitssh ${version}, Node ${process.version}, ${process.platform}-${process.arch})`)
}

main().catch((error: unknown) => {
  process.stderr.write(`build-sea: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
