// The ProxyCommand's tunnel to the bastion's /v1/tunnel, carrying stdin → server and server → stdout with
// backpressure both ways, EOF propagated, keepalive pings, prompt exit. Two transports on the same checks: the raw
// upgrade (`Upgrade: jitssh-tunnel/1`, records of plain bytes: raw-tunnel.ts, raw-bridge.ts), tried first, and a
// WebSocket (bridge.ts) when something between the client and the server refuses the raw upgrade, or when
// JITSSH_TUNNEL=websocket says so.
import type { Socket } from 'node:net'
import type { Duplex, Readable, Writable } from 'node:stream'
import type WebSocket from 'ws'
import { JitsshError } from '../../shared/errors.js'
import { TUNNEL_CLOSE } from '../../shared/protocol.js'
import { controlRecord, RECORD, RecordReader } from '../../shared/tunnel-records.js'
import type { ClientContext } from '../context.js'
import { HttpStatusError, serverMessage } from '../http.js'
import { firstLine } from '../terminal-text.js'
import { startDeadline, timedOut, type Deadline } from '../deadline.js'
import { parseJitsshEnv } from '../env.js'
import { proxyForUrl, type ProxySettings } from './proxy.js'
import { connectThroughProxy, tlsThroughProxy } from './proxy-connect.js'
import { bridge, type BridgeResult } from './bridge.js'
import { bridgeRaw } from './raw-bridge.js'
import { MAX_REFUSAL_BYTES, rawHandshake } from './raw-tunnel.js'
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

/** An open tunnel, its socket paused until a bridge (or a reader) takes it. */
export type OpenTunnel =
  | { transport: 'raw'; socket: Duplex; head: Buffer }
  | { transport: 'websocket'; ws: WebSocket }

export function tunnelUrl(target: TunnelTarget): URL {
  const url = new URL(target.tunnelEndpoint)
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:'
  url.searchParams.set('host', target.host)
  url.searchParams.set('port', String(target.port))
  return url
}

/**
 * Opens the tunnel; resolves with it (paused: the bridge resumes it), or rejects with the server's refusal mapped
 * to a fix. One deadline covers all of it: the proxy's CONNECT, TLS, the upgrade (both tries), a refusal's body.
 */
export async function openTunnel(ctx: ClientContext, target: TunnelTarget, options: Pick<TunnelOptions, 'handshakeTimeoutMs'>): Promise<OpenTunnel> {
  const deadline = startDeadline(ctx.signal, options.handshakeTimeoutMs)
  const mode = parseJitsshEnv(ctx.env).tunnelTransport
  try {
    if (mode !== 'websocket') {
      const raw = await rawTry(target, deadline, ctx.proxy)
      if (raw.transport === 'raw') return raw
      if (mode === 'raw') {
        throw new JitsshError('ERR_SERVER', `the jitssh server did not take the raw tunnel to ${target.host}:${target.port} (${raw.answer})`, { hint: 'unset JITSSH_TUNNEL to fall back to a WebSocket' })
      }
    }
    return { transport: 'websocket', ws: await handshake(target, deadline, ctx.proxy) }
  } finally {
    deadline.done()
  }
}

/** Named like the HTTP errors name it (the server's http(s) origin), not by the ws:// URL. */
function originOf(url: URL): string {
  return `${url.protocol === 'wss:' || url.protocol === 'https:' ? 'https' : 'http'}://${url.host}`
}

/** The socket to the server through the proxy that applies to `url` (its CONNECT answered), or undefined. */
async function proxiedSocket(url: URL, deadline: Deadline, proxySettings: ProxySettings): Promise<Socket | undefined> {
  const proxy = proxyForUrl(url, proxySettings)
  if (proxy === null) return undefined
  const secure = url.protocol === 'wss:' || url.protocol === 'https:'
  return connectThroughProxy(proxy, url.hostname.replace(/^\[|\]$/g, ''), Number(url.port) || (secure ? 443 : 80), deadline)
}

/**
 * The raw upgrade. An answer that is ours (a JSON refusal with an ERR_ code, other than 400) is final, as over a
 * WebSocket; anything else (a 400: the Upgrade header did not arrive; a proxy's own answer) means "try a WebSocket".
 */
async function rawTry(target: TunnelTarget, deadline: Deadline, proxySettings: ProxySettings): Promise<Extract<OpenTunnel, { transport: 'raw' }> | { transport: 'none'; answer: string }> {
  const url = tunnelUrl(target)
  const origin = originOf(url)
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:'
  let answer: Awaited<ReturnType<typeof rawHandshake>>
  try {
    const connection = await proxiedSocket(url, deadline, proxySettings)
    answer = await rawHandshake({ url, token: target.token, deadline, ...(connection ? { connection } : {}), ...(target.ca ? { ca: target.ca.ca } : {}) })
  } catch (error) {
    throw handshakeError(error, origin, deadline, target)
  }
  if (answer.kind === 'open') return { transport: 'raw', socket: answer.socket, head: answer.head }
  const body = jsonBody(answer.body)
  if (answer.status !== 400 && answer.status !== 101 && typeof body?.error === 'string' && /^ERR_[A-Z_]+$/.test(body.error)) {
    throw refusal(target, answer.status, answer.body)
  }
  return { transport: 'none', answer: `HTTP ${answer.status}${body && serverMessage(body) ? `: ${serverMessage(body)}` : ''}` }
}

function jsonBody(text: string): HttpStatusError['body'] | undefined {
  try {
    const parsed = JSON.parse(text) as unknown
    return typeof parsed === 'object' && parsed !== null ? (parsed as HttpStatusError['body']) : undefined
  } catch {
    return undefined
  }
}

/** A failure before any answer: the deadline, Ctrl-C, TLS, the network. */
function handshakeError(error: unknown, origin: string, deadline: Deadline, target: TunnelTarget): JitsshError {
  if (error instanceof JitsshError) return error
  if (deadline.signal.aborted) {
    return deadline.expired
      ? new JitsshError('ERR_NETWORK', `cannot reach ${origin}: ${timedOut(deadline.ms)}`, { hint: 'check the network and HTTPS_PROXY/NO_PROXY' })
      : new JitsshError('ERR_INTERRUPTED', 'interrupted')
  }
  const tls = tlsProblem(error)
  if (tls !== null) return tlsError(origin, tls, target.ca?.file, error)
  const code = (error as NodeJS.ErrnoException).code
  return new JitsshError('ERR_NETWORK', `cannot reach ${origin}: ${code ?? (error as Error).message}`, {
    cause: error,
    hint: 'check the network and HTTPS_PROXY/NO_PROXY',
  })
}

async function handshake(target: TunnelTarget, deadline: Deadline, proxySettings: ProxySettings): Promise<WebSocket> {
  const url = tunnelUrl(target)
  const secure = url.protocol === 'wss:'
  const origin = originOf(url)
  let createConnection: (() => Socket) | undefined
  const raw = await proxiedSocket(url, deadline, proxySettings)
  if (raw !== undefined) {
    createConnection = secure ? () => tlsThroughProxy(raw, url.hostname.replace(/^\[|\]$/g, ''), target.ca?.ca) : () => raw
  }
  // The WebSocket library loads only when a WebSocket is used.
  const { default: WebSocketClient } = await import('ws')
  const ws = new WebSocketClient(url, {
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
  return new Promise<WebSocket>((resolve, reject) => {
    const onAbort = () => {
      ws.terminate()
      reject(handshakeError(new Error('aborted'), origin, deadline, target))
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
      reject(handshakeError(error, origin, deadline, target))
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

/**
 * Reads an open tunnel without bridging it (doctor's look at the target's banner): `onData` gets the target's
 * bytes, `onEnd` runs once when the tunnel ends. Returns what closes it.
 */
export function readTunnel(tunnel: OpenTunnel, onData: (bytes: Buffer) => void, onEnd: () => void): () => void {
  let ended = false
  const end = () => {
    if (!ended) {
      ended = true
      onEnd()
    }
  }
  if (tunnel.transport === 'websocket') {
    tunnel.ws.on('message', (data: Buffer) => onData(data))
    tunnel.ws.once('close', end)
    tunnel.ws.resume()
    return () => tunnel.ws.terminate()
  }
  const { socket } = tunnel
  const reader = new RecordReader({
    data: onData,
    control: (type, payload) => {
      if (type === RECORD.PING && socket.writable) socket.write(controlRecord(RECORD.PONG, payload))
      if (type === RECORD.CLOSE) end()
    },
  })
  socket.on('data', (chunk: Buffer) => void (reader.push(chunk) !== null && end()))
  socket.once('close', end)
  socket.on('error', () => undefined)
  if (tunnel.head.length > 0) socket.emit('data', tunnel.head)
  socket.resume()
  return () => socket.destroy()
}

/** Bridges an open tunnel until either side ends; rejects when the server closed it for a reason. */
export async function runTunnel(ctx: ClientContext, tunnel: OpenTunnel, target: Pick<TunnelTarget, 'host' | 'port'>, options: TunnelOptions): Promise<void> {
  const settings = { keepaliveMs: options.keepaliveMs, signal: ctx.signal }
  const result: BridgeResult = tunnel.transport === 'raw'
    ? await bridgeRaw(tunnel.socket, tunnel.head, options.stdin, options.stdout, settings)
    : await bridge(tunnel.ws, options.stdin, options.stdout, settings)
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
