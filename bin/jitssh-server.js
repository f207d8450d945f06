#!/usr/bin/env node
// Thin launcher: check the Node version, run the server CLI, set the exit code. All logic lives in dist/server.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 18)) {
  process.stderr.write(`jitssh-server: Node.js >= 20.18.1 is required (this is ${process.version})\n`)
  process.exitCode = 1
} else {
  const { run } = await import('../dist/server/commands/main.js')
  process.exitCode = await run(process.argv.slice(2))
}
