// Which proxy a URL goes through: HTTPS_PROXY / HTTP_PROXY / NO_PROXY with the rules of undici's
// EnvHttpProxyAgent (and curl's), for HTTP requests (src/cli/node-fetch.ts) and the tunnel alike.
export interface ProxySettings {
  httpProxy: string
  httpsProxy: string
  noProxy: string
}

export function proxySettingsFromEnv(env: Record<string, string | undefined>): ProxySettings {
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY ?? ''
  const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY ?? ''
  return { httpProxy, httpsProxy: httpsProxy || httpProxy, noProxy: env.no_proxy ?? env.NO_PROXY ?? '' }
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 }

/** The proxy URL for `target`, or null for a direct connection. */
export function proxyForUrl(target: URL, settings: ProxySettings): URL | null {
  const secure = target.protocol === 'https:' || target.protocol === 'wss:'
  const proxy = secure ? settings.httpsProxy : settings.httpProxy
  if (!proxy) return null
  const hostname = target.host.replace(/:\d*$/, '').toLowerCase()
  const port = Number.parseInt(target.port, 10) || DEFAULT_PORTS[target.protocol] || 0
  if (!shouldProxy(hostname, port, settings.noProxy)) return null
  return new URL(proxy.includes('://') ? proxy : `http://${proxy}`)
}

function shouldProxy(hostname: string, port: number, noProxy: string): boolean {
  const value = noProxy.trim()
  if (value === '') return true
  if (value === '*') return false
  for (const raw of value.split(/[,\s]/)) {
    if (!raw) continue
    const parsed = /^(.+):(\d+)$/.exec(raw)
    const entryHost = (parsed ? parsed[1]! : raw).replace(/^\*?\./, '').toLowerCase()
    const entryPort = parsed ? Number.parseInt(parsed[2]!, 10) : 0
    if (entryPort && entryPort !== port) continue
    if (hostname === entryHost || hostname.endsWith(`.${entryHost}`)) return false
  }
  return true
}
