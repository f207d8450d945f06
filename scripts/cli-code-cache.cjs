// Run by scripts/build-packages.ts with the Node that builds the package: compiles the CLI bundle as
// packaging/cli-bin.cjs does, runs its top level (so the functions it defines at load are compiled too), and
// writes V8's code cache for it beside it. Usage: node scripts/cli-code-cache.cjs dist/cli/jitssh.cjs
'use strict'
const { readFileSync, writeFileSync } = require('node:fs')
const { dirname } = require('node:path')
const Module = require('node:module')
const vm = require('node:vm')

const file = process.argv[2]
const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER })
const cli = new Module(file, module)
cli.filename = file
cli.paths = Module._nodeModulePaths(dirname(file))
script.runInThisContext().call(cli.exports, cli.exports, (id) => cli.require(id), cli, file, dirname(file))
if (typeof cli.exports.run !== 'function') throw new Error(`${file} does not export run()`)
writeFileSync(`${file}.cache`, script.createCachedData())
