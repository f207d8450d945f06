// An HTTP CONNECT tunnel through a proxy (the WebSocket's route when HTTPS_PROXY/HTTP_PROXY apply), given up
// when the caller's deadline (the whole tunnel handshake's) ends.
import { request as httpRequest } from 'node:http'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { JitsshError } from '../../shared/errors.js'
import { timedOut, type Deadline } from '../deadline.js'

export async function connectThroughProxy(proxy: URL, host: string, port: number, deadline: Deadline): Promise<Socket> {
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  const headers: Record<string, string> = { host: authority }
  if (proxy.username) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`
  }
  // node:https (and TLS) load only for an https proxy.
  const request = proxy.protocol === 'https:' ? (process.getBuiltinModule('node:https') as typeof import('node:https')).request : httpRequest
  return new Promise<Socket>((resolve, reject) => {
    const req = request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: Number(proxy.port) || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers,
      signal: deadline.signal,
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
      if (deadline.signal.aborted && !deadline.expired) {
        reject(new JitsshError('ERR_INTERRUPTED', 'interrupted', { cause: error }))
        return
      }
      const detail = deadline.expired ? timedOut(deadline.ms) : (error as NodeJS.ErrnoException).code ?? error.message
      reject(new JitsshError('ERR_NETWORK', `cannot reach the proxy ${proxy.host}: ${detail}`, {
        cause: error,
        hint: 'check HTTPS_PROXY/NO_PROXY',
      }))
    })
    req.end()
  })
}

/**
 * TLS to `host` over a socket a proxy's CONNECT opened: the certificate is checked against `host` (tls.connect on
 * a given socket would otherwise check the proxy's name), SNI only for a name (not an IP literal), HTTP/1.1.
 */
export function tlsThroughProxy(socket: Socket, host: string, ca: string[] | undefined): TLSSocket {
  const tls = process.getBuiltinModule('node:tls') as typeof import('node:tls')
  const ipLiteral = /^[\d.]+$/.test(host) || host.includes(':')
  return tls.connect({ socket, host, ...(ipLiteral ? {} : { servername: host }), ALPNProtocols: ['http/1.1'], ...(ca ? { ca } : {}) })
}
