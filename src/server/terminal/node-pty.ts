import type { PtyProcess } from './pty-bridge.js'
import type { SpawnPty } from './terminal-service.js'

/** The libuv handle under node-pty's read stream (a TTY wrap). */
interface ReadHandle {
  readStop(): number
  readStart(): number
}

/**
 * Holds the PTY open a moment after the program exits. On Linux the last bytes a program writes before it
 * exits can reach the PTY's master only after the hangup that its exit causes, and node-pty then never
 * reads them (microsoft/node-pty#72, #85): the end of ssh's output would be lost. `$0` is the program, `$@`
 * its arguments (never parsed by the shell); the program's exit status is kept.
 */
const HOLD_PTY_OPEN = '"$0" "$@"; status=$?; sleep 0.2; exit $status'

/**
 * SpawnPty on @lydell/node-pty (node-pty with prebuilt binaries), loaded on the first terminal only: output
 * arrives as bytes (`encoding: null`), TERM is xterm-256color, the environment is exactly `env`; the program
 * runs under /bin/sh (HOLD_PTY_OPEN). `kill` signals the PTY's whole process group.
 *
 * Pausing stops the reads of the PTY itself (libuv's readStop) rather than the Node stream: a paused stream
 * keeps reading into its buffer, and when ssh exits the PTY's EIO destroys the stream with that buffer unread,
 * losing the end of ssh's output. Stopped reads leave it all in the kernel until resumed.
 */
export const spawnNodePty: SpawnPty = async (file, args, options) => {
  const { spawn } = await import('@lydell/node-pty')
  const pty = spawn('/bin/sh', ['-c', HOLD_PTY_OPEN, file, ...args], { name: 'xterm-256color', cols: options.cols, rows: options.rows, cwd: options.cwd, env: options.env, encoding: null })
  // node-pty rethrows a read error on its PTY when nobody else listens for it: the bridge sees the exit instead.
  ;(pty as unknown as { on(event: 'error', listener: () => void): void }).on('error', () => undefined)
  const handle = (pty as unknown as { _socket?: { _handle?: Partial<ReadHandle> } })._socket?._handle
  const reads = typeof handle?.readStop === 'function' && typeof handle.readStart === 'function' ? (handle as ReadHandle) : undefined
  return {
    get pid() {
      return pty.pid
    },
    onData: (listener) => pty.onData(listener as unknown as (data: string) => void),
    onExit: (listener) => pty.onExit(listener),
    write: (data) => pty.write(data),
    resize: (cols, rows) => pty.resize(cols, rows),
    kill: (signal) => {
      try {
        process.kill(-pty.pid, signal ?? 'SIGHUP')
      } catch {
        pty.kill(signal)
      }
    },
    pause: () => (reads ? void reads.readStop() : pty.pause()),
    resume: () => (reads ? void reads.readStart() : pty.resume()),
  } satisfies PtyProcess
}
