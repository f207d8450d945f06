/**
 * The browser terminal without a browser: sign in with TestBrowser, press a host's "Terminal" button (POST
 * /terminal with the CSRF token), and open the page's WebSocket with the ticket, the session cookie and our
 * Origin, as the page's script does; then type, read and ack like xterm.js.
 */
import { once } from 'node:events'
import WebSocket from 'ws'
import { TERMINAL_ACK_BYTES, type TerminalClientMessage } from '../../src/shared/terminal-protocol.js'
import { csrfTokenOf, submitLogin, TEST_PASSWORD, TestBrowser } from './server.js'

const TAIL_CHARS = 256 * 1024

export interface TerminalPage {
  status: number
  html: string
  ticket: string | undefined
  wsUrl: string | undefined
}

/** A TestBrowser signed in at `url` as `user`. */
export async function signedInBrowser(url: string, user = 'alice'): Promise<TestBrowser> {
  const browser = new TestBrowser()
  const posted = await submitLogin(browser, `${url}/login?return_to=%2F`, user, TEST_PASSWORD)
  if (posted.status !== 303) throw new Error(`login failed: ${posted.status}`)
  return browser
}

/** Presses the Terminal button of `host` on the home page (the form's CSRF token and fields). */
export async function openTerminalPage(browser: TestBrowser, url: string, host: string, login?: string): Promise<TerminalPage> {
  const home = await (await browser.request(`${url}/`)).text()
  const response = await browser.request(`${url}/terminal`, { form: { csrf_token: csrfTokenOf(home), host, ...(login ? { login } : {}) }, headers: { origin: url } })
  const html = await response.text()
  const attribute = (name: string): string | undefined => new RegExp(`${name}="([^"]+)"`).exec(html)?.[1]?.replace(/&amp;/g, '&')
  return { status: response.status, html, ticket: attribute('data-ticket'), wsUrl: attribute('data-ws-url') }
}

export interface TerminalClient {
  ws: WebSocket
  /** Everything the terminal printed so far, as text. */
  output(): string
  /** Output bytes received so far. */
  received(): number
  /** Resolves once the newest 256 KiB of output contain `text` (rejects after `timeoutMs`). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>
  type(text: string): void
  resize(cols: number, rows: number): void
  closed: Promise<{ code: number; reason: string }>
}

/**
 * Opens the terminal's WebSocket as the page would, and resolves once ssh runs (or the socket closed). `ack`: acknowledge output as xterm.js does once written
 * (false: never, to watch the server pause). `collect`: keep the output text (false for large transfers).
 */
export async function connectTerminal(
  browser: TestBrowser,
  page: TerminalPage,
  options: { origin: string; ack?: boolean; ackDelayMs?: number; collect?: boolean; size?: { cols: number; rows: number } },
): Promise<TerminalClient | { status: number; body: string }> {
  const size = options.size ?? { cols: 100, rows: 30 }
  const url = `${page.wsUrl}?${new URLSearchParams({ ticket: page.ticket ?? '', cols: String(size.cols), rows: String(size.rows) })}`
  const ws = new WebSocket(url, { headers: { cookie: browser.cookieHeader(url.replace(/^ws/, 'http')), origin: options.origin } })
  const refused = new Promise<{ status: number; body: string }>((resolve) => {
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
  })
  const opened = once(ws, 'open').then(() => undefined)
  const first = await Promise.race([opened, refused])
  if (first !== undefined) return first
  let text = ''
  // What waitFor searches: the newest output only (searching all of a multi-megabyte output on every message is quadratic).
  let tail = ''
  let bytes = 0
  let unacked = 0
  const waiters = new Set<() => void>()
  const send = (message: TerminalClientMessage): void => ws.send(JSON.stringify(message))
  let started: () => void = () => undefined
  const startedNow = new Promise<void>((resolve) => (started = resolve))
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      if ((JSON.parse(data.toString()) as { t: string }).t === 'started') started()
      return
    }
    bytes += data.length
    if (options.collect !== false) text += data.toString('utf8')
    unacked += data.length
    if (options.ack !== false && unacked >= TERMINAL_ACK_BYTES) {
      const n = unacked
      unacked = 0
      // A browser acks once xterm.js has drawn the bytes: `ackDelayMs` plays a page that draws slower than the network.
      if (options.ackDelayMs) setTimeout(() => ws.readyState === ws.OPEN && send({ t: 'a', n }), options.ackDelayMs)
      else send({ t: 'a', n })
    }
    tail = (tail + (options.collect === false ? '' : data.toString('utf8'))).slice(-TAIL_CHARS)
    for (const waiter of waiters) waiter()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  // The server says `started` once ssh runs (key, certificate, recording and audit are done by then).
  await Promise.race([startedNow, closed])
  return {
    ws,
    closed,
    output: () => text,
    received: () => bytes,
    type: (data) => send({ t: 'i', d: data }),
    resize: (cols, rows) => send({ t: 'r', cols, rows }),
    waitFor: (wanted, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const matches = (): boolean => (typeof wanted === 'string' ? tail.includes(wanted) : wanted.test(tail))
        if (matches()) return resolve()
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`the terminal did not show ${String(wanted)} within ${timeoutMs} ms; it showed:\n${text.slice(-2000)}`))
        }, timeoutMs)
        const check = (): void => {
          if (!matches()) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        void closed.then(() => {
          if (waiters.has(check)) check()
        })
      }),
  }
}
