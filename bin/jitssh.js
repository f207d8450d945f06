#!/usr/bin/env node
// Thin launcher: check the Node version, run the CLI, set the exit code. All logic lives in dist/cli.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 18)) {
  process.stderr.write(`jitssh: Node.js >= 20.18.1 is required (this is ${process.version})\n`)
  process.exitCode = 1
} else {
  const { run } = await import('../dist/cli/entry.js')
  process.exitCode = await run(process.argv.slice(2))
}
