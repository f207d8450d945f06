// The raw tunnel's handshake: GET /v1/tunnel with `Upgrade: jitssh-tunnel/1` over node:http(s) (no WebSocket
// library to load), through the proxy's CONNECT when one applies. The server checks everything and writes
// tunnel.open before it answers 101; after that the socket carries records (src/shared/tunnel-records.ts).
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { RAW_TUNNEL_PROTOCOL } from '../../shared/tunnel-records.js'
import type { Deadline } from '../deadline.js'
import { tlsThroughProxy } from './proxy-connect.js'

/** Enough of a refusal's body to say why; the rest is not read. */
export const MAX_REFUSAL_BYTES = 8192

export type RawHandshake =
  | { kind: 'open'; socket: Duplex; head: Buffer }
  /** The server (or something in front of it) answered without upgrading: status and body, for refusal() or a fallback. */
  | { kind: 'answered'; status: number; body: string }

export interface RawHandshakeOptions {
  /** http(s)://server/v1/tunnel?host=&port= */
  url: URL
  token: string
  deadline: Deadline
  /** A socket to the server through the proxy (already CONNECTed), when one applies. */
  connection?: Socket
  /** CA certificates for the server's TLS (Node's roots plus a private CA's). */
  ca?: string[]
}

/** Sends the upgrade request; resolves with the upgraded socket (paused) or the server's plain answer. Network and TLS errors reject. */
export async function rawHandshake(options: RawHandshakeOptions): Promise<RawHandshake> {
  const { url, deadline } = options
  const secure = url.protocol === 'https:'
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  const common = {
    host: hostname,
    port: Number(url.port) || (secure ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: { host: url.host, authorization: `Bearer ${options.token}`, 'user-agent': 'jitssh-cli', connection: 'Upgrade', upgrade: RAW_TUNNEL_PROTOCOL },
    signal: deadline.signal,
  }
  // A connection of our own (the proxy's CONNECT) is used only without an agent: with `agent: false` Node makes a
  // fresh Agent, which ignores createConnection and connects straight to the server, around the proxy.
  const raw = options.connection
  const via = raw === undefined ? { agent: false as const } : {}
  let req: ClientRequest
  if (secure) {
    // TLS loads only for an https server.
    const { request: httpsRequest } = await import('node:https')
    const servername = /^[\d.]+$|:/.test(hostname) ? undefined : hostname
    const tls = { ...(servername ? { servername } : {}), ALPNProtocols: ['http/1.1'], ...(options.ca ? { ca: options.ca } : {}) }
    req = httpsRequest({ ...common, ...tls, ...via, ...(raw ? { createConnection: () => tlsThroughProxy(raw, hostname, options.ca) } : {}) })
  } else {
    req = httpRequest({ ...common, ...via, ...(raw ? { createConnection: () => raw } : {}) })
  }
  return new Promise<RawHandshake>((resolve, reject) => {
    req.once('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.pause()
      if (String(res.headers.upgrade ?? '').toLowerCase() !== RAW_TUNNEL_PROTOCOL) {
        socket.destroy()
        resolve({ kind: 'answered', status: 101, body: '' })
        return
      }
      resolve({ kind: 'open', socket, head })
    })
    req.once('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      let size = 0
      let done = false
      const answered = () => {
        if (done) return
        done = true
        req.destroy()
        resolve({ kind: 'answered', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
      }
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        if ((size += chunk.length) >= MAX_REFUSAL_BYTES) answered()
      })
      res.once('end', answered)
      res.once('error', answered)
    })
    req.on('error', reject)
    req.end()
  })
}
