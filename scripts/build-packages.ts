/**
 * npm run build (its last step): the two installable npm packages, from the tsc output in dist/.
 *
 *   dist/packages/jitssh/          the CLI: one bundled CommonJS file (scripts/cli-bundle.ts) + the ssh-gen
 *                                  fast path; no dependencies, @napi-rs/keyring optional (prebuilt binaries)
 *   dist/packages/jitssh-server/   the server: dist/ less the client, with the server's own dependencies
 *   dist/packages/jitssh-<v>.tgz, dist/packages/jitssh-server-<v>.tgz   (npm pack)
 *
 * Install: `npm install -g ./jitssh-<v>.tgz` (or `npm install -g jitssh` once published); likewise the server.
 * Nothing is compiled when the CLI installs, and none of the server's dependencies come with it.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { VERSION } from '../src/shared/version.js'
import { bundleCli } from './cli-bundle.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DIST = join(ROOT, 'dist')
const OUT = join(DIST, 'packages')

interface RootManifest {
  version: string
  description: string
  license: string
  engines: { node: string }
  dependencies: Record<string, string>
}

const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as RootManifest
const log = (line: string) => void process.stderr.write(`build-packages: ${line}\n`)

/** What both packages say about themselves. */
function manifest(name: string, description: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    version: root.version,
    description,
    license: root.license,
    engines: root.engines,
    keywords: ['ssh', 'openssh', 'certificates', 'bastion', 'just-in-time', 'access'],
    ...extra,
  }
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)
}

function pack(dir: string): string {
  const out = execFileSync('npm', ['pack', '--pack-destination', OUT, '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const [packed] = JSON.parse(out) as Array<{ filename: string }>
  if (packed === undefined) throw new Error(`npm pack in ${dir} packed nothing`)
  return join(OUT, packed.filename)
}

async function buildCliPackage(): Promise<string> {
  const dir = join(OUT, 'jitssh')
  mkdirSync(join(dir, 'bin'), { recursive: true })
  mkdirSync(join(dir, 'man'), { recursive: true })
  await bundleCli({ entry: join(ROOT, 'src/cli/entry.ts'), outfile: join(dir, 'dist/cli/jitssh.cjs') })
  // V8's code cache of the bundle for this Node (packaging/cli-bin.cjs uses it; another Node ignores it).
  execFileSync(process.execPath, [join(ROOT, 'scripts/cli-code-cache.cjs'), join(dir, 'dist/cli/jitssh.cjs')], { stdio: 'inherit' })
  // The fast path as in the repository's build: one small CommonJS file for bin/jitssh-ssh-gen.cjs.
  await build({ entryPoints: [join(ROOT, 'src/cli/fast-path.ts')], outfile: join(dir, 'dist/fast-path.cjs'), bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' })
  cpSync(join(ROOT, 'packaging/cli-bin.cjs'), join(dir, 'bin/jitssh.js'))
  cpSync(join(ROOT, 'bin/jitssh-ssh-gen.cjs'), join(dir, 'bin/jitssh-ssh-gen.cjs'))
  cpSync(join(ROOT, 'man/jitssh.1'), join(dir, 'man/jitssh.1'))
  cpSync(join(ROOT, 'packaging/cli-README.md'), join(dir, 'README.md'))
  const keyring = root.dependencies['@napi-rs/keyring']
  if (keyring === undefined) throw new Error('package.json: @napi-rs/keyring is not a dependency')
  writeJson(
    join(dir, 'package.json'),
    manifest('jitssh', `${root.description}: the command-line client`, {
      type: 'commonjs',
      bin: { jitssh: 'bin/jitssh.js' },
      man: ['./man/jitssh.1'],
      // Prebuilt per platform on npm; without it (or where it cannot load) logins go to a 0600 file.
      optionalDependencies: { '@napi-rs/keyring': keyring },
    }),
  )
  return pack(dir)
}

/** The packages the server's code imports (followed from its bin, as node would load it), with their versions. */
async function serverDependencies(entry: string): Promise<Record<string, string>> {
  const result = await build({ entryPoints: [entry], bundle: true, write: false, platform: 'node', format: 'esm', packages: 'external', metafile: true, logLevel: 'error' })
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
  const names = new Set<string>()
  for (const info of Object.values(result.metafile.inputs)) {
    for (const imported of info.imports) {
      if (!imported.external || builtins.has(imported.path)) continue
      names.add(/^(@[^/]+\/[^/]+|[^/]+)/.exec(imported.path)?.[1] as string)
    }
  }
  const dependencies: Record<string, string> = {}
  for (const name of [...names].sort()) {
    const range = root.dependencies[name]
    if (range === undefined) throw new Error(`the server imports ${name}, which is not in package.json's dependencies`)
    dependencies[name] = range
  }
  return dependencies
}

async function buildServerPackage(): Promise<string> {
  const dir = join(OUT, 'jitssh-server')
  mkdirSync(join(dir, 'bin'), { recursive: true })
  mkdirSync(join(dir, 'man'), { recursive: true })
  // dist/ as tsc wrote it, less what only the client uses (new server assets come along by themselves).
  const clientOnly = new Set(['cli', 'client', 'packages', 'sea', 'fast-path.cjs'])
  for (const entry of readdirSync(DIST)) {
    if (!clientOnly.has(entry)) cpSync(join(DIST, entry), join(dir, 'dist', entry), { recursive: true })
  }
  cpSync(join(ROOT, 'bin/jitssh-server.js'), join(dir, 'bin/jitssh-server.js'))
  cpSync(join(ROOT, 'man/jitssh-server.8'), join(dir, 'man/jitssh-server.8'))
  cpSync(join(ROOT, 'packaging/server-README.md'), join(dir, 'README.md'))
  writeJson(
    join(dir, 'package.json'),
    manifest('jitssh-server', `${root.description}: the access server`, {
      type: 'module',
      bin: { 'jitssh-server': 'bin/jitssh-server.js' },
      man: ['./man/jitssh-server.8'],
      dependencies: await serverDependencies(join(dir, 'dist/server/commands/main.js')),
    }),
  )
  return pack(dir)
}

async function main(): Promise<void> {
  if (VERSION !== root.version) throw new Error(`src/cli/version.ts says ${VERSION}, package.json ${root.version}: make them equal`)
  if (!existsSync(join(DIST, 'server/commands/main.js'))) throw new Error('dist/ has no tsc output: run tsc -p tsconfig.build.json first')
  rmSync(OUT, { recursive: true, force: true })
  mkdirSync(OUT, { recursive: true })
  const [cli, server] = await Promise.all([buildCliPackage(), buildServerPackage()])
  log(`${cli}\nbuild-packages: ${server}`)
}

main().catch((error: unknown) => {
  process.stderr.write(`build-packages: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
