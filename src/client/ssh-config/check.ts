// Before jitssh replaces the user's ssh config, the installed ssh reads the new text: `ssh -G -F <file>`
// for a host that no jitssh block matches, so none of our `Match exec` commands run (ssh skips an exec
// whose earlier criteria failed) and nothing connects. An ssh that cannot parse the result (an OpenSSH
// older than 8.2 rejects `Match final`, and with it the whole file) is caught here, before the rename.

import { runProgram } from '../../shared/child-process.js'

/** RFC 2606 reserves .invalid: no block of ours, and no sane block of the user's, matches it. */
const PROBE_HOST = 'jitssh-config-check.invalid'
const TIMEOUT_MS = 10_000

export type SshConfigVerdict = { kind: 'ok' } | { kind: 'rejected'; message: string } | { kind: 'no-ssh' }

export async function checkSshConfig(path: string, env: Record<string, string | undefined>): Promise<SshConfigVerdict> {
  const result = await runProgram('ssh', ['-G', '-F', path, PROBE_HOST], env, TIMEOUT_MS)
  if (result.missing) return { kind: 'no-ssh' }
  if (result.code === 0) return { kind: 'ok' }
  return { kind: 'rejected', message: firstComplaint(result.stderr) || `ssh -G exited with ${result.code ?? 'a signal'}` }
}

/** ssh's own words, without the noise lines it prints around them. */
function firstComplaint(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^Pseudo-terminal will not be allocated|terminating, \d+ bad configuration options$/.test(line))
    .slice(0, 2)
    .join('; ')
}
