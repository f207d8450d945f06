import type { TargetAddress } from '../config/types.js'

export interface SshInvocation {
  /** The host as the person knows it (the host certificate must name it). */
  host: string
  target: TargetAddress
  login: string
  /** The terminal's agent socket: the only identity ssh gets. */
  agentSocket: string
  /** A known_hosts file holding only the host CA (knownHostsText). */
  knownHostsFile: string
  /** A path that does not exist: ssh's default key files (~/.ssh/id_*, of the server's user) are never read. */
  noIdentityFile: string
  connectTimeoutMs: number
  keepaliveMs: number
}

/** The only trust anchor of a terminal's ssh: the host CA, for this host name. */
export function knownHostsText(host: string, hostCaLine: string): string {
  return `@cert-authority ${host} ${hostCaLine.trim()}\n`
}

/**
 * The argv of real OpenSSH for one browser terminal: a TTY (-tt), no config file, no escape character, the
 * key only from the agent, the target's host key only if certified by the host CA for this name
 * (StrictHostKeyChecking yes, HostKeyAlias = the name), nothing forwarded, no multiplexing, quiet.
 */
export function sshArguments(input: SshInvocation): string[] {
  const options: Record<string, string> = {
    BatchMode: 'yes',
    IdentityAgent: input.agentSocket,
    IdentityFile: input.noIdentityFile,
    PreferredAuthentications: 'publickey',
    StrictHostKeyChecking: 'yes',
    UserKnownHostsFile: input.knownHostsFile,
    GlobalKnownHostsFile: '/dev/null',
    HostKeyAlias: input.host,
    CheckHostIP: 'no',
    UpdateHostKeys: 'no',
    ForwardAgent: 'no',
    ForwardX11: 'no',
    ClearAllForwardings: 'yes',
    PermitLocalCommand: 'no',
    ControlMaster: 'no',
    ControlPath: 'none',
    ConnectTimeout: String(Math.max(1, Math.ceil(input.connectTimeoutMs / 1000))),
    ServerAliveInterval: String(Math.max(1, Math.round(input.keepaliveMs / 1000))),
    ServerAliveCountMax: '3',
    LogLevel: 'ERROR',
  }
  return [
    '-tt', '-F', '/dev/null', '-e', 'none',
    ...Object.entries(options).flatMap(([name, value]) => ['-o', `${name}=${value}`]),
    '-p', String(input.target.port), '-l', input.login, '--', input.target.host,
  ]
}
