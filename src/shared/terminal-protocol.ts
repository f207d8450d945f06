/**
 * The browser terminal's WebSocket (`/terminal/ws?ticket=`), shared by the server and the page (src/web).
 *
 * Server → page: binary frames are the terminal's output bytes; text frames are `TerminalServerMessage` JSON.
 * Page → server: text frames only, `TerminalClientMessage` JSON: keystrokes, the terminal's size, and acks.
 *
 * Flow control (xterm.js's watermark scheme): the page acks output once xterm.js has *written* it (the
 * write callback), in steps of `TERMINAL_ACK_BYTES`; the server counts bytes sent and not yet acked, pauses
 * the PTY above `TERMINAL_HIGH_WATER` and resumes it below `TERMINAL_LOW_WATER`. So `cat` of a large file
 * goes as fast as the browser renders, nothing is dropped, and the server holds at most the high mark plus
 * one read of the PTY per terminal. The ack step must stay below the low mark, or a paused terminal would
 * wait for an ack that never comes.
 */

export const TERMINAL_ACK_BYTES = 32 * 1024
export const TERMINAL_HIGH_WATER = 512 * 1024
export const TERMINAL_LOW_WATER = 128 * 1024

/** Terminal sizes the server accepts (columns and rows). */
export const TERMINAL_MAX_COLS = 1000
export const TERMINAL_MAX_ROWS = 500

export type TerminalClientMessage =
  /** Keystrokes (and pasted text), as xterm.js's onData gives them. */
  | { t: 'i'; d: string }
  /** The terminal's size changed (also sent once when the socket opens). */
  | { t: 'r'; cols: number; rows: number }
  /** `n` more output bytes were written to the screen. */
  | { t: 'a'; n: number }

export type TerminalServerMessage =
  /** ssh is running: the connection is on its way (`host`, `login`). */
  | { t: 'started'; host: string; login: string }
  /** ssh ended with this exit code (the socket closes next). */
  | { t: 'exit'; code: number | null }

/** Close codes of the terminal's WebSocket, besides the standard ones (the reason says why, for the page). */
export const TERMINAL_CLOSE = {
  /** ssh ended. */
  ENDED: 1000,
  /** The session was revoked or ended (the same code as a tunnel's). */
  SESSION_REVOKED: 4001,
  /** The terminal could not start (ssh, key, recording). */
  FAILED: 4500,
} as const
