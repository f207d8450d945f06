import { isIP } from 'node:net'

/** `host:port`, `[v6]:port`, or a bare host (then `defaultPort`). Undefined when malformed. */
export function parseHostPort(text: string, defaultPort?: number): { host: string; port: number } | undefined {
  let host: string
  let portText: string | undefined
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(text)
  if (bracketed) {
    host = bracketed[1]!
    portText = bracketed[2]
    if (isIP(host) !== 6) return undefined
  } else {
    const parts = text.split(':')
    if (parts.length > 2) return undefined
    host = parts[0]!
    portText = parts[1]
    if (!isIP(host) && !isDnsName(host)) return undefined
  }
  const port = portText === undefined ? defaultPort : Number(portText)
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) return undefined
  return { host: host.toLowerCase(), port }
}

export function isDnsName(text: string): boolean {
  return text.length <= 253 && /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/i.test(text)
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
}

/** `10.0.0.5/32`, `2001:db8::/48`, or a bare address. */
export function isCidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/')
  if (rest.length > 0 || address === undefined) return false
  const family = isIP(address)
  if (family === 0) return false
  if (prefix === undefined) return true
  const bits = Number(prefix)
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128)
}
