// Whether what `ssh -G` settled on goes through jitssh, and if not, what in the user's config is the cause
// (the first line ssh read that set ProxyJump, ProxyCommand or HostName) and how to fix it.
import { describeSource, findSetting, type SettingSource, type SshRoute } from './route-check.js'

export interface RouteProblem {
  /** The setting that wins over jitssh's block, and where it is. */
  because: string
  fix: string
  source: SettingSource | null
}

/** Our ProxyCommand: `... ssh --server <server> ...` (the URL needs no quoting; an IPv6 one gets single quotes). */
export function isOurProxyCommand(command: string | null, server: string): boolean {
  return command !== null && (command.includes(` ssh --server ${server} `) || command.includes(` ssh --server '${server}' `))
}

export function routeProblem(route: SshRoute, server: string): RouteProblem | null {
  const ours = (source: SettingSource) => isOurProxyCommand(` ${source.text.replace(/^ProxyCommand[ \t=]+/i, '')} `, server)
  if (route.proxyJump !== null && route.proxyJump.toLowerCase() !== 'none') {
    const source = findSetting(route, 'ProxyJump')
    return {
      because: source ? `${describeSource(source)} comes first, and ssh keeps the first value it reads` : `ssh -G sets ProxyJump ${route.proxyJump}`,
      fix: `remove that ProxyJump for ${route.host} (or exclude the host from its pattern, e.g. "Host *.example.com !${route.host}")`,
      source,
    }
  }
  if (isOurProxyCommand(route.proxyCommand, server)) return null
  if (route.hostname.toLowerCase() !== route.host.toLowerCase() && route.proxyCommand === null) {
    const source = findSetting(route, 'HostName')
    return {
      because: `${source ? describeSource(source) : `its HostName ${route.hostname}`} renames it to ${route.hostname}, and jitssh's block matches the name ssh connects to`,
      fix: `write the block for ${route.hostname} (jitssh ssh-config --hostname ${route.hostname}), or remove that HostName`,
      source,
    }
  }
  const source = route.proxyCommand === null ? null : findSetting(route, 'ProxyCommand', ours)
  return {
    because: source ? `${describeSource(source)} comes first, and ssh keeps the first value it reads` : 'ssh -G shows no jitssh ProxyCommand for it',
    fix: source ? `remove that ProxyCommand for ${route.host}` : 'check the file with: ssh -G HOST',
    source,
  }
}
