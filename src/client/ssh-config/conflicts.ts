// Spots the user's own ProxyCommand/ProxyJump for a host: ssh takes the first value it reads, so such a
// line (read in the first pass, before our `Match final` block) would keep jitssh's ProxyCommand out.
import SSHConfig from 'ssh-config'

export function conflictingProxySettings(configText: string, host: string): string[] {
  let computed: Record<string, string | string[]>
  try {
    // matchExec: false — never run the `Match exec` commands of a config we only read.
    computed = SSHConfig.parse(configText).compute(host, { ignoreCase: true, matchExec: false })
  } catch {
    return []
  }
  const found: string[] = []
  for (const key of ['proxycommand', 'proxyjump']) {
    const value = computed[key]
    if (value === undefined) continue
    const text = Array.isArray(value) ? value.join(' ') : value
    if (key === 'proxyjump' && text.toLowerCase() === 'none') continue
    found.push(key === 'proxycommand' ? `ProxyCommand ${text}` : `ProxyJump ${text}`)
  }
  return found
}
