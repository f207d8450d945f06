// The ProxyCommand bridge: a WebSocket to the bastion's /v1/tunnel, carrying stdin → server and
// server → stdout with backpressure both ways, EOF propagated, keepalive pings, prompt exit.
import { connect as tlsConnect } from 'node:tls'
import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import WebSocket from 'ws'
import { JitsshError } from '../../shared/errors.js'
import { TUNNEL_CLOSE } from '../../shared/protocol.js'
import type { ClientContext } from '../context.js'
import { HttpStatusError, serverMessage } from '../http.js'
import { firstLine } from '../terminal-text.js'
import { startDeadline, timedOut, type Deadline } from '../deadline.js'
import { proxyForUrl, type ProxySettings } from './proxy.js'
import { connectThroughProxy } from './proxy-connect.js'
import { bridge } from './bridge.js'
import { tlsError, tlsProblem, type ExtraCa } from '../trust.js'

export interface TunnelTarget {
  tunnelEndpoint: string
  host: string
  port: number
  token: string
  /** The server's private CA (with Node's roots), when it has one (src/client/trust.ts). */
  ca?: ExtraCa | null
}

export interface TunnelOptions {
  stdin: Readable
  stdout: Writable
  keepaliveMs: number
  handshakeTimeoutMs: number
}

export function tunnelUrl(target: TunnelTarget): URL {
  const url = new URL(target.tunnelEndpoint)
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:'
  url.searchParams.set('host', target.host)
  url.searchParams.set('port', String(target.port))
  return url
}

/** Enough of a refusal's body to say why; the rest is not read. */
const MAX_REFUSAL_BYTES = 8192

/**
 * Opens the tunnel; resolves with the open socket (paused: the bridge resumes it), or rejects with the server's
 * refusal mapped to a fix. One deadline covers all of it: the proxy's CONNECT, TLS, the upgrade, a refusal's body.
 */
export async function openTunnel(ctx: ClientContext, target: TunnelTarget, options: Pick<TunnelOptions, 'handshakeTimeoutMs'>): Promise<WebSocket> {
  const deadline = startDeadline(ctx.signal, options.handshakeTimeoutMs)
  try {
    return await handshake(target, deadline, ctx.proxy)
  } finally {
    deadline.done()
  }
}

async function handshake(target: TunnelTarget, deadline: Deadline, proxySettings: ProxySettings): Promise<WebSocket> {
  const url = tunnelUrl(target)
  const secure = url.protocol === 'wss:'
  const proxy = proxyForUrl(url, proxySettings)
  let createConnection: (() => Socket) | undefined
  if (proxy !== null) {
    const port = Number(url.port) || (secure ? 443 : 80)
    const raw = await connectThroughProxy(proxy, url.hostname.replace(/^\[|\]$/g, ''), port, deadline)
    const servername = /^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname
    createConnection = secure ? () => tlsConnect({ socket: raw, ...(servername ? { servername } : {}), ALPNProtocols: ['http/1.1'], ...(target.ca ? { ca: target.ca.ca } : {}) }) : () => raw
  }
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${target.token}`, 'user-agent': 'jitssh-cli' },
    perMessageDeflate: false,
    // An all-zero masking key: ws then skips masking here and unmasking on the server, which otherwise cost
    // more CPU per byte than ssh's own cipher. Masking (RFC 6455 5.3) guards broken intermediaries against
    // payloads chosen by a hostile page script; ours are ssh's bytes (ciphertext after the key exchange),
    // carried over TLS or on loopback.
    generateMask: (mask: Buffer) => void mask.fill(0),
    maxPayload: 16 * 1024 * 1024,
    followRedirects: false,
    ...(createConnection ? { createConnection } : {}),
    ...(target.ca ? { ca: target.ca.ca } : {}),
  })
  // Named like the HTTP errors name it (the server's http(s) origin), not by the ws:// URL.
  const origin = `${secure ? 'https' : 'http'}://${url.host}`
  return new Promise<WebSocket>((resolve, reject) => {
    const onAbort = () => {
      ws.terminate()
      reject(deadline.expired
        ? new JitsshError('ERR_NETWORK', `cannot reach ${origin}: ${timedOut(deadline.ms)}`, { hint: 'check the network and HTTPS_PROXY/NO_PROXY' })
        : new JitsshError('ERR_INTERRUPTED', 'interrupted'))
    }
    deadline.signal.addEventListener('abort', onAbort, { once: true })
    const done = () => deadline.signal.removeEventListener('abort', onAbort)
    ws.once('open', () => {
      // Hold incoming data until the bridge listens: the target's first bytes can arrive with the upgrade.
      ws.pause()
      done()
      resolve(ws)
    })
    ws.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = []
      let size = 0
      const refuse = () => {
        done()
        req.destroy()
        reject(refusal(target, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')))
      }
      res.on('data', (c: Buffer) => {
        chunks.push(c)
        if ((size += c.length) >= MAX_REFUSAL_BYTES) refuse()
      })
      res.once('end', refuse)
      res.once('error', () => undefined)
    })
    ws.once('error', (error) => {
      done()
      const code = (error as NodeJS.ErrnoException).code
      const tls = tlsProblem(error)
      if (tls !== null && !(error instanceof JitsshError)) return reject(tlsError(origin, tls, target.ca?.file, error))
      reject(error instanceof JitsshError ? error : new JitsshError('ERR_NETWORK', `cannot reach ${origin}: ${code ?? error.message}`, {
        cause: error,
        hint: 'check the network and HTTPS_PROXY/NO_PROXY',
      }))
    })
  })
}

function refusal(target: TunnelTarget, status: number, text: string): JitsshError {
  let body: HttpStatusError['body'] = {}
  let said = ''
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null) body = parsed
    said = serverMessage(body) || firstLine(body.error)
  } catch {
    said = ''
  }
  const where = `${target.host}:${target.port}`
  switch (status) {
    case 401:
      // An HttpStatusError like a refused HTTP request's, so withAccessToken retries it with a fresh token.
      return new HttpStatusError('ERR_NOT_LOGGED_IN', 'not logged in', status, body, 'run: jitssh login')
    case 403:
      return new JitsshError('ERR_POLICY_DENIED', `access to ${where} denied${said ? `: ${said}` : ''}`)
    case 502:
    case 504:
      return new JitsshError('ERR_TARGET_UNREACHABLE', `${where} is unreachable from the jitssh server${said ? `: ${said}` : ''}`, {
        hint: 'check the host name and that its sshd is up',
      })
    default:
      return new JitsshError('ERR_SERVER', `the jitssh server refused the tunnel to ${where} (HTTP ${status})${said ? `: ${said}` : ''}`)
  }
}

/** Bridges an open tunnel until either side ends; rejects when the server closed it for a reason. */
export async function runTunnel(ctx: ClientContext, ws: WebSocket, target: Pick<TunnelTarget, 'host' | 'port'>, options: TunnelOptions): Promise<void> {
  const result = await bridge(ws, options.stdin, options.stdout, { keepaliveMs: options.keepaliveMs, signal: ctx.signal })
  const where = `${target.host}:${target.port}`
  switch (result.kind) {
    case 'closed':
      return closeOutcome(result.code, result.reason, where)
    case 'lost':
      throw new JitsshError('ERR_NETWORK', `lost the connection to the jitssh server (${result.detail})`)
    case 'interrupted':
      throw new JitsshError('ERR_INTERRUPTED', 'interrupted')
    default:
      return
  }
}

function closeOutcome(code: number, reason: string, where: string): void {
  const said = firstLine(reason)
  switch (code) {
    case TUNNEL_CLOSE.SESSION_REVOKED: {
      // The server's reason usually repeats "session revoked: ..."; keep only what it adds.
      const why = said.replace(/^session revoked:?\s*/i, '')
      throw new JitsshError('ERR_SESSION_REVOKED', `the server closed the connection to ${where}: session revoked${why ? ` (${why})` : ''}`, { hint: 'run: jitssh login' })
    }
    case TUNNEL_CLOSE.POLICY_DENIED:
      throw new JitsshError('ERR_POLICY_DENIED', `access to ${where} denied${said ? `: ${said}` : ''}`)
    case TUNNEL_CLOSE.TARGET_UNREACHABLE:
      throw new JitsshError('ERR_TARGET_UNREACHABLE', `${where} is unreachable from the jitssh server${said ? `: ${said}` : ''}`)
    case TUNNEL_CLOSE.GOING_AWAY:
      // The server is stopping (restart, upgrade) and says so: not the person's fault, and worth one line.
      throw new JitsshError('ERR_SERVER', `the jitssh server ended the connection to ${where}${said ? `: ${said}` : ''}`)
    default:
      return
  }
}
