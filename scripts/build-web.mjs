// Bundles the browser code (src/web/*.ts, with xterm.js and its CSS) into hashed files under dist/web, and
// writes dist/web/manifest.json ({"pages": {"terminal": {"js", "css"}, ...}, "files": [every file]}) for the
// server, which serves exactly the files listed. xterm.js goes into one chunk that both pages share.
// Run by `npm run build`; the server serves these files itself (no CDN).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'web')
const entries = { terminal: 'src/web/terminal.ts', player: 'src/web/player.ts' }

rmSync(outdir, { recursive: true, force: true })
mkdirSync(outdir, { recursive: true })
const result = await build({
  absWorkingDir: root,
  entryPoints: entries,
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'none',
  splitting: true,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  outdir,
  metafile: true,
  logLevel: 'warning',
})

const pages = {}
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  const name = Object.entries(entries).find(([, source]) => source === output.entryPoint)?.[0]
  if (name !== undefined) pages[name] = { js: basename(file), ...(output.cssBundle ? { css: basename(output.cssBundle) } : {}) }
}
for (const name of Object.keys(entries)) if (!pages[name]?.css) throw new Error(`build-web: no bundle or stylesheet for ${name}`)
const manifest = { pages, files: Object.keys(result.metafile.outputs).map((file) => basename(file)).sort() }
writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`)
