#!/usr/bin/env node
// `jitssh ssh-gen` as ssh's `Match exec` runs it before every connection (`jitssh ssh-config` writes this
// file into the exec line). CommonJS on purpose: node starts an ES-module entry point ~20% slower than
// `node -e 0`, and this runs on every `ssh`. The check itself is src/cli/fast-path.ts, bundled into the one
// CommonJS file dist/fast-path.cjs at build time (one file to load, not five); anything it does not settle
// runs the real `jitssh` (bin/jitssh.js) with the same arguments.
'use strict'
const { homedir } = require('node:os')
const { hasFreshCertificate } = require('../dist/fast-path.cjs')

module.exports = { hasFreshCertificate }

if (require.main === module) {
  const args = process.argv.slice(2)
  if (args[0] === 'ssh-gen' && hasFreshCertificate(args.slice(1), process.env, homedir(), Date.now())) {
    process.exitCode = 0
  } else {
    // The full CLI, exactly as `jitssh <args>`: bin/jitssh.js reads process.argv and sets the exit code.
    import('./jitssh.js')
  }
}
