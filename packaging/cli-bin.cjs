#!/usr/bin/env node
// bin/jitssh.js of the installable `jitssh` package (scripts/build-packages.ts copies this file there).
// Thin: check the Node version, run the bundled CLI (dist/cli/jitssh.cjs: everything but the optional
// OS-keychain binding in one CommonJS file, no node_modules needed), set the exit code.
'use strict'
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 18)) {
  process.stderr.write(`jitssh: Node.js >= 20.18.1 is required (this is ${process.version}); or use the standalone executable, which needs no Node\n`)
  process.exitCode = 1
} else {
  require('../dist/cli/jitssh.cjs')
    .run(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code
    })
}
