// The standalone executable's main script (Node's single-executable applications: scripts/build-sea.ts
// bundles this file into the blob injected into a copy of node). No bin launcher runs before it, so it sets
// the exit code itself. ssh-gen's fast path is all this script holds; anything else compiles the full CLI,
// an asset of the executable (standalone-cli.ts), with the code cache the build made for it.
import { homedir } from 'node:os'
import { dirname } from 'node:path'
import { getAsset } from 'node:sea'
import { Script } from 'node:vm'
import { hasFreshCertificate } from './fast-path.js'
import { CLI_ASSET, CLI_CACHE_ASSET, wrapCliSource } from './standalone-cli.js'

interface Cli {
  run(argv: string[]): Promise<number>
}

function loadCli(): Cli {
  let cachedData: Buffer | undefined
  try {
    cachedData = Buffer.from(getAsset(CLI_CACHE_ASSET))
  } catch {
    cachedData = undefined // built without one: only slower
  }
  const script = new Script(wrapCliSource(getAsset(CLI_ASSET, 'utf8')), { filename: CLI_ASSET, ...(cachedData ? { cachedData } : {}) })
  const module = { exports: {} as Cli }
  // require: the executable's own, which loads built-in modules only (see scripts/build-sea.ts).
  script.runInThisContext()(module.exports, require, module, process.execPath, dirname(process.execPath))
  return module.exports
}

const argv = process.argv.slice(2)
if (argv[0] === 'ssh-gen' && hasFreshCertificate(argv.slice(1), process.env, homedir(), Date.now())) {
  process.exitCode = 0
} else {
  void loadCli()
    .run(argv)
    .then((code) => {
      process.exitCode = code
    })
}
