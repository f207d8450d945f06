// The doctor's last check: the real `ssh -vvv -o BatchMode=yes host true`, and what its output means. ssh's own
// words for a failure are often beside the point (a refused certificate is "Permission denied (publickey)"),
// so the known ones are translated into their cause and fix; a line jitssh printed (ssh-gen's or the
// ProxyCommand's) is the cause as it stands.
import type { ClientContext } from '../context.js'
import { terminalSafe } from '../terminal-text.js'
import { runProgram } from '../../shared/child-process.js'
import { fail, pass, type CheckResult } from './report.js'
import type { HostKeySeen } from './server-checks.js'

export interface SshTrial {
  result: CheckResult
  hostKey: HostKeySeen | null
}

export async function trySsh(ctx: ClientContext, target: string, host: string, login: string, configFile: string | undefined): Promise<SshTrial> {
  const args = ['-vvv', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', ...(configFile !== undefined ? ['-F', configFile] : []), '--', target, 'true']
  const run = await runProgram('ssh', args, ctx.env, 60_000)
  const lines = run.stderr.split(/\r?\n/)
  return { result: translate(run.code, lines, host, login), hostKey: hostKeySeen(lines) }
}

function hostKeySeen(lines: string[]): HostKeySeen | null {
  for (const line of lines) {
    const certificate = /^debug1: Server host certificate: \S+ \S+, serial \d+ ID "[^"]*" CA \S+ (SHA256:[A-Za-z0-9+/=]+)/.exec(line)
    if (certificate) return { certificate: true, caFingerprint: certificate[1]! }
    if (/^debug1: Server host key: /.test(line)) return { certificate: false, caFingerprint: null }
  }
  return null
}

export function translate(code: number | null, lines: string[], host: string, login: string): CheckResult {
  if (code === 0) return pass('ssh', `ssh ${host} true works: logged in as ${login} with the jitssh certificate`)
  const said = lines.filter((line) => line.trim() !== '' && !/^(debug\d|OpenSSH_|Authenticated |Transferred: |Bytes per second)/.test(line))
  const ours = said.find((line) => line.startsWith('jitssh: '))
  if (ours !== undefined) {
    const text = terminalSafe(ours.slice('jitssh: '.length))
    const hint = /\(([^()]*(?:\([^()]*\))?[^()]*)\)$/.exec(text)?.[1]
    return fail('ssh', 'ssh.jitssh', text, hint ?? 'as the line says')
  }
  const offeredCertificate = lines.some((line) => /^debug1: (Offering public key|Server accepts key): .*-CERT /.test(line))
  const has = (re: RegExp) => said.some((line) => re.test(line))
  if (has(/Permission denied \(.*publickey/)) {
    if (offeredCertificate) {
      return fail('ssh', 'ssh.certificate_refused',
        `the sshd of ${host} refused the jitssh certificate for ${login}: it does not trust the jitssh user CA (TrustedUserCAKeys), or does not accept ${login} as a principal (AuthorizedPrincipalsFile), or lists the certificate in RevokedKeys`,
        `set the target up: jitssh-server target-setup --hostname ${host} (the user CA, principals, KRL and sshd_config lines it needs)`)
    }
    return fail('ssh', 'ssh.no_certificate', `ssh offered no jitssh certificate to ${host} (ssh-gen did not succeed) and the target accepted nothing else`, 'run: jitssh ssh-gen --hostname HOST, which says what is wrong')
  }
  if (has(/Host key verification failed/)) {
    return fail('ssh', 'ssh.host_key', `ssh cannot verify the host key of ${host}: it is not signed by the jitssh host CA, nor in a known_hosts file`, `give ${host} a host certificate (jitssh-server host-cert), or accept its key once: ssh ${host}`)
  }
  if (has(/Too many authentication failures/)) {
    return fail('ssh', 'ssh.too_many_keys', `sshd on ${host} gave up (MaxAuthTries) before ssh offered the jitssh certificate`, 'IdentitiesOnly yes for the host, or fewer keys in the agent (ssh-add -D)')
  }
  if (has(/timed out|Connection timed out/)) {
    return fail('ssh', 'ssh.timeout', `the connection to ${host} timed out`, 'check the target, and the bastion check above')
  }
  if (has(/kex_exchange_identification|Connection closed by/)) {
    return fail('ssh', 'ssh.closed', `the connection to ${host} closed before SSH began: the ProxyCommand failed`, `run: jitssh ssh --hostname ${host} < /dev/null, which says why`)
  }
  const last = said.at(-1)
  return fail('ssh', 'ssh.failed', terminalSafe(last !== undefined ? `ssh ${host} failed: ${last}` : `ssh ${host} failed with exit code ${code ?? 'a signal'}`), 'run: ssh -v HOST true, and read its last lines')
}
