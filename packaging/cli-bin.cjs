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
  loadCli()
    .run(process.argv.slice(2))
    .then((code) => {
      process.exitCode = code
    })
}

/**
 * The bundle, compiled with the V8 code cache the build made beside it (dist/cli/jitssh.cjs.cache, for the Node
 * that built the package): compiling the bundle was the largest part of starting the CLI, which ssh does for the
 * ProxyCommand of every connection and for every new certificate. V8 checks the cache and ignores one from
 * another Node (then this compiles as require() would); without the file, require() it is.
 */
function loadCli() {
  const { readFileSync } = require('node:fs')
  const { dirname, join } = require('node:path')
  const file = join(__dirname, '..', 'dist', 'cli', 'jitssh.cjs')
  let cachedData
  try {
    cachedData = readFileSync(`${file}.cache`)
  } catch {
    return require(file)
  }
  const Module = require('node:module')
  const vm = require('node:vm')
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  const cli = new Module(file, module)
  cli.filename = file
  cli.paths = Module._nodeModulePaths(dirname(file))
  const require_ = (id) => cli.require(id)
  require_.resolve = (id) => Module._resolveFilename(id, cli)
  script.runInThisContext().call(cli.exports, cli.exports, require_, cli, file, dirname(file))
  cli.loaded = true
  return cli.exports
}
