// The ssh_config file `jitssh agent --ssh-config` writes beside the key and certificates it keeps fresh, for
// `ssh -F DIR/ssh_config HOST` (Ansible: ansible_ssh_common_args='-F DIR/ssh_config'). One block per host:
// the bastion's ProxyCommand, the agent's key and that host's certificate, the host CA as known host.
import { type Platform } from './command-quoting.js'
import { SshFormatError } from './errors.js'
import { parseHostSpec } from './host-spec.js'
import { checkProgram, checkServerUrl, configPathWord, proxyCommand } from './managed-block-render.js'
import { assertArgvSplitAccepts } from './ssh-config-tokenizers.js'

export interface AgentConfigInput {
  /** Host names (validated, no patterns) the agent keeps certificates for. */
  hosts: string[]
  /** argv prefix of our program: [absolute node, absolute script]. */
  program: string[]
  server: string
  /** The private key, each host's certificate (`certificateFor(host)`) and the known_hosts file, as absolute paths. */
  keyFile: string
  certificateFor(host: string): string
  knownHostsFile: string
  platform: Platform
}

export function renderAgentSshConfig(input: AgentConfigInput): string {
  checkServerUrl(input.server)
  checkProgram(input.program, input.platform, 'program')
  if (input.hosts.length === 0) throw new SshFormatError('ERR_INVALID_CONFIG', 'no hosts to write')
  const proxyLine = `ProxyCommand ${proxyCommand(input)}`
  assertArgvSplitAccepts(proxyLine)
  const lines = [
    '# Written by `jitssh agent`, which keeps the certificates below fresh while it runs.',
    '# Use: ssh -F <this file> HOST',
  ]
  for (const name of input.hosts) {
    const { host } = parseHostSpec(name, { allowPattern: false, allowPort: false })
    lines.push(
      `Host ${host}`,
      `    ${proxyLine}`,
      `    IdentityFile ${configPathWord(input.keyFile, input.platform, 'keyFile')}`,
      `    CertificateFile ${configPathWord(input.certificateFor(host), input.platform, 'certificate file')}`,
      '    IdentitiesOnly yes',
      `    UserKnownHostsFile ${configPathWord(input.knownHostsFile, input.platform, 'knownHostsFile')}`,
      '    StrictHostKeyChecking yes',
    )
  }
  return `${lines.join('\n')}\n`
}
