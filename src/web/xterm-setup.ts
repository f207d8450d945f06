// One way to make an xterm.js terminal for the terminal and the player pages.
import { FitAddon } from '@xterm/addon-fit'
import { Terminal, type ITerminalOptions } from '@xterm/xterm'
import '@xterm/xterm/css/xterm.css'
import './pages.css'
import { nonceStyleElements } from './style-nonce.js'

const OPTIONS: ITerminalOptions = {
  fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
  fontSize: 14,
  scrollback: 5000,
  theme: { background: '#1e1e1e', foreground: '#e6e6e6' },
}

export function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id)
  if (!found) throw new Error(`the page has no #${id}`)
  return found as T
}

/** A terminal in `container`; `fit` sizes it to the container (the live terminal), else it keeps `size`. */
export function createTerminal(container: HTMLElement, options: { fit: boolean; size?: { cols: number; rows: number }; input: boolean }): { term: Terminal; fit: FitAddon } {
  nonceStyleElements(document)
  const term = new Terminal({ ...OPTIONS, ...options.size, disableStdin: !options.input, cursorBlink: options.input })
  const fit = new FitAddon()
  term.loadAddon(fit)
  term.open(container)
  if (options.fit) {
    fit.fit()
    new ResizeObserver(() => fit.fit()).observe(container)
  }
  return { term, fit }
}
