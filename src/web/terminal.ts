// The browser terminal: xterm.js on the WebSocket the page's one-time ticket opens (see
// src/shared/terminal-protocol.ts for the messages and the flow control).
import {
  TERMINAL_ACK_BYTES, TERMINAL_CLOSE, type TerminalClientMessage, type TerminalServerMessage,
} from '../shared/terminal-protocol.js'
import { createTerminal, element } from './xterm-setup.js'

const container = element<HTMLDivElement>('terminal')
const status = element<HTMLParagraphElement>('status')
const again = document.getElementById('reconnect')
const { wsUrl, ticket, host, login } = container.dataset
if (!wsUrl || !ticket) throw new Error('the page carries no terminal ticket')

const { term } = createTerminal(container, { fit: true, input: true })
const ws = new WebSocket(`${wsUrl}?${new URLSearchParams({ ticket, cols: String(term.cols), rows: String(term.rows) })}`)
ws.binaryType = 'arraybuffer'
let unacked = 0

function send(message: TerminalClientMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message))
}

function say(text: string, kind: 'ok' | 'error' = 'ok'): void {
  status.textContent = text
  status.className = kind
}

say(`Connecting to ${host} as ${login}…`)
ws.addEventListener('open', () => {
  send({ t: 'r', cols: term.cols, rows: term.rows })
  term.focus()
})
ws.addEventListener('message', (event: MessageEvent<ArrayBuffer | string>) => {
  if (typeof event.data === 'string') return control(JSON.parse(event.data) as TerminalServerMessage)
  const bytes = new Uint8Array(event.data)
  term.write(bytes, () => {
    unacked += bytes.length
    if (unacked >= TERMINAL_ACK_BYTES) {
      send({ t: 'a', n: unacked })
      unacked = 0
    }
  })
})
ws.addEventListener('close', (event) => {
  term.options.disableStdin = true
  term.options.cursorBlink = false
  const why = event.reason || (event.code === 1006 ? 'the connection was lost' : `code ${event.code}`)
  say(event.code === TERMINAL_CLOSE.ENDED ? `Session ended: ${why}.` : `Disconnected: ${why}.`, event.code === TERMINAL_CLOSE.ENDED ? 'ok' : 'error')
  again?.removeAttribute('hidden')
})

term.onData((data) => send({ t: 'i', d: data }))
term.onResize(({ cols, rows }) => send({ t: 'r', cols, rows }))

function control(message: TerminalServerMessage): void {
  if (message.t === 'started') say(`Connected to ${message.host} as ${message.login}. This session is recorded.`)
  else if (message.t === 'exit') say(`ssh exited${message.code === null ? '' : ` with code ${message.code}`}.`)
}
