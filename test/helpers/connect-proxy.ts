/** A CONNECT-only HTTP proxy on 127.0.0.1 that records what it tunnels (for HTTPS_PROXY / HTTP_PROXY tests). */
import { createServer as createHttpServer } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'

export interface ConnectProxy {
  url: string
  /** The `host:port` of every CONNECT, in order. */
  connects: string[]
  /** Bytes the clients sent through the tunnels (after the CONNECT). */
  carried(): number
  close(): Promise<void>
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const connects: string[] = []
  let carried = 0
  const sockets = new Set<Socket>()
  const server = createHttpServer((_req, res) => res.writeHead(405).end())
  server.on('connect', (req, client: Socket, head) => {
    connects.push(req.url ?? '')
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host!, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length) upstream.write(head)
      carried += head.length
      client.on('data', (chunk: Buffer) => void (carried += chunk.length))
      upstream.pipe(client)
      client.pipe(upstream)
    })
    sockets.add(client).add(upstream)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connects,
    carried: () => carried,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
