import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { JitsshError } from '../../shared/errors.js'

/** Where `npm run build` puts the browser bundles (scripts/build-web.mjs): <repository or package>/dist/web. */
export const WEB_ASSETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'web')

export type LivePageName = 'terminal' | 'player'

interface Manifest {
  pages: Record<LivePageName, { js: string; css: string }>
  files: string[]
}

/**
 * The browser bundles, as `npm run build` wrote them: the script and stylesheet of each live page (hashed
 * names, so they are cached for good), and the contents of exactly the files the build listed.
 */
export class WebAssets {
  private manifest: Manifest | undefined
  private readonly contents = new Map<string, Buffer>()

  constructor(private readonly dir = WEB_ASSETS_DIR) {}

  /** `/assets/<file>` of a page's script and stylesheet; ERR_SERVER when the bundles were never built. */
  page(name: LivePageName): { script: string; stylesheet: string } {
    const entry = this.load().pages[name]
    return { script: `/assets/${entry.js}`, stylesheet: `/assets/${entry.css}` }
  }

  /** A built file by name and its content type, or undefined for any name the build did not list. */
  file(name: string): { body: Buffer; type: string } | undefined {
    if (!this.load().files.includes(name)) return undefined
    let body = this.contents.get(name)
    if (!body) {
      body = readFileSync(join(this.dir, name))
      this.contents.set(name, body)
    }
    return { body, type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' }
  }

  private load(): Manifest {
    if (this.manifest) return this.manifest
    try {
      this.manifest = JSON.parse(readFileSync(join(this.dir, 'manifest.json'), 'utf8')) as Manifest
    } catch {
      throw new JitsshError('ERR_SERVER', 'the browser pages are not built (run: npm run build)')
    }
    return this.manifest
  }
}
