#!/usr/bin/env node
// Thin launcher: check the Node version, run the server CLI, set the exit code. All logic lives in dist/server.
// (The installable jitssh-server package ships this file as it is: scripts/build-packages.ts.)
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 20 || (major === 20 && minor < 18)) {
  process.stderr.write(`jitssh-server: Node.js >= 20.18.1 is required (this is ${process.version})\n`)
  process.exitCode = 1
} else {
  const entry = new URL('../dist/server/commands/main.js', import.meta.url)
  const { run } = await import(entry.href).catch((error) => {
    // A clone before its first build: say how to build rather than print a module-resolution stack.
    if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(decodeURIComponent(entry.pathname))) {
      process.stderr.write(`jitssh-server: not built yet (run: npm ci && npm run build in ${decodeURIComponent(new URL('..', import.meta.url).pathname)})\n`)
      process.exit(1)
    }
    throw error
  })
  process.exitCode = await run(process.argv.slice(2))
}
