/**
 * The client as one CommonJS file, for the `jitssh` npm package (scripts/build-packages.ts) and the standalone
 * executable (scripts/build-sea.ts): esbuild bundles src/cli with commander, ws, open and ssh-config,
 * so the package needs no node_modules. Only @napi-rs/keyring (a prebuilt native addon, an optional dependency
 * of the package) and ws's optional native helpers stay outside. The metafile proves no server code or server
 * package went in.
 */
import { builtinModules } from 'node:module'
import { build, type BuildOptions, type Metafile } from 'esbuild'

/** What the bundle may `require` at run time besides node's built-ins (each loaded lazily, each optional). */
export const CLI_EXTERNAL = ['@napi-rs/keyring', 'bufferutil', 'utf-8-validate']

const SERVER_PACKAGES = ['fastify', '@fastify/', 'better-sqlite3', 'pg', 'pg-', 'oidc-provider', 'yaml']

// import.meta.url in CommonJS: the bundle's own file (src/cli/context.ts finds bin/jitssh.js from it, as
// `../../bin/jitssh.js`, so the bundle lives in dist/cli/ of the package as dist/cli/*.js does in the repo).
const IMPORT_META_URL_SHIM = "var __jitssh_import_meta_url = require('node:url').pathToFileURL(__filename).href;"

export async function bundleCli(options: { entry: string; outfile: string; banner?: string }): Promise<Metafile> {
  const config: BuildOptions = {
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: CLI_EXTERNAL,
    define: { 'import.meta.url': '__jitssh_import_meta_url' },
    banner: { js: [options.banner, IMPORT_META_URL_SHIM].filter(Boolean).join('\n') },
    metafile: true,
    logLevel: 'warning',
    legalComments: 'inline',
  }
  const { metafile } = await build(config)
  if (metafile === undefined) throw new Error('esbuild wrote no metafile')
  checkClientOnly(metafile, options.outfile)
  return metafile
}

/** Throws when the bundle holds server code or a server package, or needs a package we do not ship. */
function checkClientOnly(metafile: Metafile, outfile: string): void {
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
  for (const [input, info] of Object.entries(metafile.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1]
    if (input.includes('src/server/') || (pkg !== undefined && SERVER_PACKAGES.some((server) => pkg === server || (server.endsWith('/') || server.endsWith('-') ? pkg.startsWith(server) : false)))) {
      throw new Error(`${outfile}: the client bundle must not contain ${input}`)
    }
    for (const imported of info.imports) {
      // node:-only built-ins (node:sqlite, which undici probes for) are not in builtinModules.
      if (imported.external && !builtins.has(imported.path) && !imported.path.startsWith('node:') && !CLI_EXTERNAL.includes(imported.path)) {
        throw new Error(`${outfile}: ${input} needs ${imported.path} at run time, which the package does not ship`)
      }
    }
  }
}
