// The CLI's HTTP client on node:http(s). A jitssh command makes a handful of requests (discovery, tokens,
// signing, the person's API); they need a deadline, a proxy, a private CA and a body read up to a limit
// (src/client/http.ts does that on top of this), not a fetch engine. undici, used before, cost ~50 ms to load,
// and compiled its WebAssembly HTTP parser on a background thread that the process then waited for at exit
// (another ~50 ms or more): on ssh-gen's cold path, which runs before ssh whenever a certificate is new, that
// was most of the time (bench figure 1c).
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import type { Socket } from 'node:net'
import type { FetchBody, FetchInit, FetchLike, FetchResponse } from '../client/context.js'
import { connectThroughProxy, tlsThroughProxy } from '../client/tunnel/proxy-connect.js'
import { proxyForUrl, type ProxySettings } from '../client/tunnel/proxy.js'

export interface NodeFetchOptions {
  proxy: ProxySettings
  /** CA certificates to trust for an https URL (Node's roots and a private CA's), or null for Node's own. */
  caFor(url: string): Promise<{ key: string; ca: string[] } | null>
}

/** A FetchLike over node:http(s) with keep-alive connections per CA; close() drops them. */
export function createNodeFetch(options: NodeFetchOptions): { fetch: FetchLike; close(): void } {
  const agents = new Map<string, HttpAgent | HttpsAgent>()
  let httpsModule: typeof import('node:https') | undefined

  async function agentFor(secure: boolean, trusted: { key: string; ca: string[] } | null): Promise<HttpAgent | HttpsAgent> {
    const key = secure ? `https:${trusted?.key ?? ''}` : 'http:'
    let agent = agents.get(key)
    if (agent === undefined) {
      if (secure) {
        // TLS loads only for an https server.
        httpsModule ??= await import('node:https')
        agent = new httpsModule.Agent({ keepAlive: true, ...(trusted ? { ca: trusted.ca } : {}) })
      } else {
        agent = new HttpAgent({ keepAlive: true })
      }
      agents.set(key, agent)
    }
    return agent
  }

  async function fetch(url: string, init: FetchInit = {}): Promise<FetchResponse> {
    const target = new URL(url)
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`cannot fetch a ${target.protocol} URL`)
    const signal = init.signal
    signal?.throwIfAborted()
    const secure = target.protocol === 'https:'
    const trusted = secure ? await options.caFor(url) : null
    const hostname = target.hostname.replace(/^\[|\]$/g, '')
    const port = Number(target.port) || (secure ? 443 : 80)
    const common: RequestOptions = {
      host: hostname,
      port,
      path: `${target.pathname}${target.search}`,
      method: init.method ?? 'GET',
      headers: { ...init.headers, host: target.host },
      ...(signal ? { signal } : {}),
    }
    const proxy = proxyForUrl(target, options.proxy)
    let request: ClientRequest
    if (proxy !== null) {
      // Through the proxy's CONNECT (as undici's ProxyAgent did, for http and https alike), one connection per request.
      let socket: Socket
      try {
        socket = await connectThroughProxy(proxy, hostname, port, { signal: signal ?? new AbortController().signal, expired: false, ms: 0, done: () => undefined })
      } catch (error) {
        // The caller's deadline or Ctrl-C: the caller names it (src/client/http.ts), not the proxy.
        if (signal?.aborted) throw signal.reason ?? error
        throw error
      }
      if (secure) {
        httpsModule ??= await import('node:https')
        const tls = tlsThroughProxy(socket, hostname, trusted?.ca)
        // No `agent`: with `agent: false` Node makes a fresh Agent, which ignores createConnection.
        request = httpsModule.request({ ...common, createConnection: () => tls })
      } else {
        request = httpRequest({ ...common, createConnection: () => socket })
      }
    } else if (secure) {
      httpsModule ??= await import('node:https')
      request = httpsModule.request({ ...common, agent: (await agentFor(true, trusted)) as HttpsAgent })
    } else {
      request = httpRequest({ ...common, agent: await agentFor(false, null) })
    }
    return new Promise<FetchResponse>((resolve, reject) => {
      request.once('error', reject)
      request.once('response', (response: IncomingMessage) => {
        const status = response.statusCode ?? 0
        if (init.redirect === 'error' && status >= 300 && status < 400) {
          response.destroy()
          reject(new Error('unexpected redirect'))
          return
        }
        resolve({ status, ok: status >= 200 && status < 300, headers: { get: (name) => headerValue(response.headers, name) }, body: bodyOf(response) })
      })
      request.end(init.body)
    })
  }

  return {
    fetch,
    close: () => {
      for (const agent of agents.values()) agent.destroy()
      agents.clear()
    },
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()]
  if (value === undefined) return null
  return Array.isArray(value) ? value.join(', ') : value
}

/** The response body as the reader src/client/http.ts uses: chunks as they come, cancel() drops the rest. */
function bodyOf(response: IncomingMessage): FetchBody {
  return {
    getReader() {
      const chunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>
      return {
        read: async () => {
          const next = await chunks.next()
          return next.done === true ? { done: true } : { done: false, value: next.value }
        },
        cancel: async () => {
          response.destroy()
        },
      }
    },
  }
}
