import type { WebSocket } from 'ws'
import {
  TERMINAL_CLOSE, TERMINAL_HIGH_WATER, TERMINAL_LOW_WATER, TERMINAL_MAX_COLS, TERMINAL_MAX_ROWS, type TerminalClientMessage, type TerminalServerMessage,
} from '../../shared/terminal-protocol.js'
import type { TunnelBridge } from '../bastion/tcp-bridge.js'
import { keepAlive } from '../bastion/ws-keepalive.js'
import { RECORDING_CHUNK_BYTES } from './recorder.js'

/** What the bridge needs of a PTY (node-pty's IPty, spawned with `encoding: null`: data arrives as bytes). */
export interface PtyProcess {
  readonly pid: number
  onData(listener: (data: Buffer) => void): unknown
  onExit(listener: (event: { exitCode: number; signal?: number }) => void): unknown
  write(data: string): void
  resize(cols: number, rows: number): void
  pause(): void
  resume(): void
  kill(signal?: string): void
}

/** What the bridge needs of the recording (recorder.ts). */
export interface TerminalRecording {
  output(bytes: Buffer): void
  input(text: string): void
  resize(cols: number, rows: number): void
  bufferedBytes(): number
  onDrain(listener: () => void): void
}

export interface TerminalStats {
  /** Keystroke bytes from the page, and output bytes to it. */
  bytesIn: number
  bytesOut: number
  closeCode: number
  closeReason: string
  /** ssh's exit code, null when it was ended (or never reported one). */
  exitCode: number | null
}

/** The flow-control counters, for tests and metrics: bytes sent and not yet acked, now and at most. */
export interface TerminalFlow {
  pending: number
  maxPending: number
  /** The largest single read from the PTY. */
  maxChunk: number
  paused: boolean
}

/** A tunnel's bridge (close, bytes: up = keystrokes, down = output), and its flow-control counters. */
export interface TerminalBridge extends TunnelBridge {
  flow(): TerminalFlow
}

/** How often a paused terminal checks that ssh still runs (well within node-pty's 200 ms). */
const EXIT_WATCH_MS = 20

/** Pasted text arrives in one message: allow a generous paste, refuse a flood. */
const MAX_MESSAGE_BYTES = 1024 * 1024
/** The recording may hold this much before the terminal's output is paused (and resumes below half). */
const RECORDING_HIGH_WATER = 4 * RECORDING_CHUNK_BYTES

/**
 * Carries a browser terminal: PTY output → binary frames (and the recording), the page's JSON messages →
 * keystrokes, resizes and acks. Flow control as in src/shared/terminal-protocol.ts: the PTY is paused while
 * more than TERMINAL_HIGH_WATER bytes are unacked (or the recording is behind), resumed below the low marks.
 * `onClose` runs once, after ssh has ended.
 */
export function bridgeWebSocketToPty(
  ws: WebSocket,
  pty: PtyProcess,
  recording: TerminalRecording,
  options: { keepaliveMs: number; recordInput: boolean; onClose: (stats: TerminalStats) => void },
): TerminalBridge {
  const stats: TerminalStats = { bytesIn: 0, bytesOut: 0, closeCode: TERMINAL_CLOSE.ENDED, closeReason: '', exitCode: null }
  const flow: TerminalFlow = { pending: 0, maxPending: 0, maxChunk: 0, paused: false }
  let exited = false
  let finished = false
  // Keystrokes wait for ssh's first output: before that ssh has not made the PTY raw, and the PTY would
  // echo them (then the remote shell again).
  let heldInput: string[] | undefined = []
  let heldBytes = 0
  const releaseInput = (): void => {
    const held = heldInput ?? []
    heldInput = undefined
    for (const data of held) pty.write(data)
  }

  const closeWs = (code: number, reason: string): void => {
    if (ws.readyState !== ws.OPEN) return
    if (stats.closeReason === '') Object.assign(stats, { closeCode: code, closeReason: reason })
    ws.close(code, reason)
  }
  const keepalive = keepAlive(ws, options.keepaliveMs, () => void (stats.closeReason ||= 'keepalive timeout'))

  // node-pty reports ssh's exit only once the PTY is read to its end, and destroys it 200 ms after the exit
  // whatever is still unread: a paused PTY would lose ssh's last output. So while paused, watch for ssh to be
  // gone; from then on its remaining output is only what the kernel holds, and it is read without pausing.
  let sshGone = false
  let watch: NodeJS.Timeout | undefined
  const watchForExit = (): void => {
    watch ??= setInterval(() => {
      if (processExists(pty.pid)) return
      sshGone = true
      clearInterval(watch)
      steer()
    }, EXIT_WATCH_MS).unref()
  }
  const steer = (): void => {
    const recorded = recording.bufferedBytes()
    if (!flow.paused && !sshGone && (flow.pending > TERMINAL_HIGH_WATER || recorded > RECORDING_HIGH_WATER)) {
      flow.paused = true
      pty.pause()
      watchForExit()
    } else if (flow.paused && (sshGone || (flow.pending < TERMINAL_LOW_WATER && recorded < RECORDING_HIGH_WATER / 2))) {
      flow.paused = false
      clearInterval(watch)
      watch = undefined
      pty.resume()
    }
  }
  recording.onDrain(steer)

  pty.onData((chunk) => {
    releaseInput()
    stats.bytesOut += chunk.length
    flow.pending += chunk.length
    flow.maxPending = Math.max(flow.maxPending, flow.pending)
    flow.maxChunk = Math.max(flow.maxChunk, chunk.length)
    recording.output(chunk)
    if (ws.readyState === ws.OPEN) ws.send(chunk, { binary: true })
    steer()
  })

  pty.onExit(({ exitCode, signal }) => {
    exited = true
    stats.exitCode = signal ? null : exitCode
    send({ t: 'exit', code: exitCode })
    closeWs(TERMINAL_CLOSE.ENDED, exitCode === 0 ? 'ssh exited' : `ssh exited with code ${exitCode}`)
    finish()
  })

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    keepalive.seen()
    if (isBinary || data.length > MAX_MESSAGE_BYTES) return closeWs(1003, 'expected JSON text messages')
    let message: TerminalClientMessage
    try {
      message = JSON.parse(data.toString('utf8')) as TerminalClientMessage
    } catch {
      return closeWs(1003, 'expected JSON text messages')
    }
    handle(message)
  })

  function handle(message: TerminalClientMessage): void {
    if (message.t === 'i' && typeof message.d === 'string') {
      stats.bytesIn += Buffer.byteLength(message.d)
      if (options.recordInput) recording.input(message.d)
      if (exited) return
      if (!heldInput) return pty.write(message.d)
      heldInput.push(message.d)
      heldBytes += message.d.length
      if (heldBytes > MAX_MESSAGE_BYTES) releaseInput()
    } else if (message.t === 'r' && isSize(message.cols, TERMINAL_MAX_COLS) && isSize(message.rows, TERMINAL_MAX_ROWS)) {
      if (!exited) pty.resize(message.cols, message.rows)
      recording.resize(message.cols, message.rows)
    } else if (message.t === 'a' && Number.isSafeInteger(message.n) && message.n > 0) {
      flow.pending = Math.max(0, flow.pending - message.n)
      steer()
    }
  }

  function send(message: TerminalServerMessage): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message))
  }

  ws.on('close', (code: number, reason: Buffer) => {
    if (stats.closeReason === '') Object.assign(stats, { closeCode: code, closeReason: reason.toString() || 'the page closed the terminal' })
    endSsh()
  })
  ws.on('error', () => ws.terminate())

  /** Hangs up ssh (SIGHUP, as a closed terminal does); SIGKILL if it is still there after 2 s. */
  function endSsh(): void {
    if (exited) return finish()
    if (flow.paused) pty.resume()
    pty.kill('SIGHUP')
    setTimeout(() => {
      if (!exited) pty.kill('SIGKILL')
    }, 2_000).unref()
  }

  function finish(): void {
    if (finished || !exited || ws.readyState === ws.OPEN) return
    finished = true
    keepalive.stop()
    clearInterval(watch)
    options.onClose(stats)
  }
  ws.on('close', finish)

  return {
    close(code: number, reason: string): void {
      closeWs(code, reason)
      endSsh()
      // A page that does not answer the close frame is cut off.
      setTimeout(() => ws.terminate(), 1_000).unref()
    },
    bytes: () => ({ up: stats.bytesIn, down: stats.bytesOut }),
    flow: () => ({ ...flow }),
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isSize(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max
}
