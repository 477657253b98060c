/** Binds a TCP server (HTTP, HTTPS or RTSP) and resolves with the port it got (0 = ephemeral). */
import type {Server} from 'node:net'

export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address()
  return typeof addr === 'object' && addr !== null ? addr.port : port
}
