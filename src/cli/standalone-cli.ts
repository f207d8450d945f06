// How the standalone executable carries the full CLI: as an asset (the same bundle as the npm package's),
// compiled only when ssh-gen's fast path does not settle the run, so that the fast path starts as fast as a
// bare node. The build compiles the same wrapped text once to make the V8 code cache it ships beside it.

export const CLI_ASSET = 'jitssh-cli.cjs'
export const CLI_CACHE_ASSET = 'jitssh-cli.cache'

/** The bundle as a CommonJS module function, byte for byte the same at build time and at run time (the code cache depends on it). */
export function wrapCliSource(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`
}
