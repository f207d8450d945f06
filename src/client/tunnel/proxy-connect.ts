// An HTTP CONNECT tunnel through a proxy (the WebSocket's route when HTTPS_PROXY/HTTP_PROXY apply).
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { JitsshError } from '../../shared/errors.js'

export async function connectThroughProxy(proxy: URL, host: string, port: number, options: { signal: AbortSignal; timeoutMs: number }): Promise<Socket> {
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  const headers: Record<string, string> = { host: authority }
  if (proxy.username) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`
  }
  const request = proxy.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<Socket>((resolve, reject) => {
    const req = request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers,
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    })
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        reject(new JitsshError('ERR_NETWORK', `the proxy ${proxy.host} refused to connect to ${authority} (HTTP ${res.statusCode})`, {
          hint: 'check HTTPS_PROXY/NO_PROXY',
        }))
        return
      }
      if (head.length > 0) socket.unshift(head)
      resolve(socket)
    })
    req.once('error', (error) => {
      reject(new JitsshError('ERR_NETWORK', `cannot reach the proxy ${proxy.host}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, {
        cause: error,
        hint: 'check HTTPS_PROXY/NO_PROXY',
      }))
    })
    req.end()
  })
}
