// The standalone executable's main script (Node's single-executable applications: scripts/build-sea.ts
// bundles this file into the blob injected into a copy of node). No bin launcher runs before it, so it runs
// the CLI and sets the exit code itself. ssh-gen's fast path comes first in run(), as in bin/jitssh.js.
import { run } from './entry.js'

void run(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
