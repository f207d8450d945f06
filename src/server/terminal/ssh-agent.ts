import { chmod } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { answerAgentMessage, splitAgentMessages, type AgentIdentity } from '../../ssh/agent-protocol.js'

export interface RunningAgent {
  readonly socketPath: string
  /** Stops listening and drops its connections. */
  close(): Promise<void>
}

/**
 * An ssh-agent in this process, for one ssh: it holds one identity (the browser terminal's certificate, whose
 * private key lives only in this process's memory) and answers on a unix socket at `socketPath`, which must be
 * inside a directory only this user can enter (the terminal's 0700 workspace); the socket itself is made 0600.
 */
export async function startAgent(socketPath: string, identity: AgentIdentity): Promise<RunningAgent> {
  const connections = new Set<Socket>()
  const server: Server = createServer((socket) => {
    connections.add(socket)
    socket.once('close', () => connections.delete(socket))
    socket.on('error', () => socket.destroy())
    let buffered = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      try {
        const { messages, rest } = splitAgentMessages(Buffer.concat([buffered, chunk]))
        buffered = Buffer.from(rest)
        for (const message of messages) socket.write(answerAgentMessage(message, [identity]))
      } catch {
        socket.destroy()
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  await chmod(socketPath, 0o600)
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of connections) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
