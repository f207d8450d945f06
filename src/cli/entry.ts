// The CLI's entry point (bin/jitssh.js imports this). `ssh-gen` runs before every ssh connection, so it
// has a fast path (fast-path.ts): a certificate on disk valid for longer than the margin, with its key →
// exit 0 with no network and no heavy imports (none of commander, ws, sshpk load). Everything
// else loads main.js.
import { homedir } from 'node:os'
import { hasFreshCertificate } from './fast-path.js'

export { hasFreshCertificate }

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'ssh-gen' && hasFreshCertificate(argv.slice(1), process.env, homedir(), Date.now())) return 0
  const { main } = await import('./main.js')
  return main(argv)
}
