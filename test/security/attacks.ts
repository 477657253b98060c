/**
 * Hostile senders for the test/security tests and bench/: raw ENet CONNECT datagrams (the layout
 * of docs/protocol/control-stream.md §2, written here from the document, not from the shim), and
 * held TCP connections that send their request a byte at a time.
 */
import {randomBytes} from 'node:crypto'
import {createSocket, type Socket as UdpSocket} from 'node:dgram'
import {connect, type Socket} from 'node:net'
import {connect as tlsConnect} from 'node:tls'

/** One ENet CONNECT (peer id 0xFFF with the sent-time flag, command 2 with the acknowledge flag). */
export function enetConnectDatagram(connectData: number, connectId = randomBytes(4).readUInt32BE(0)): Buffer {
  const b = Buffer.alloc(4 + 48)
  b.writeUInt16BE(0x8000 | 0x0fff, 0) // sent time follows; no peer yet
  b.writeUInt16BE(randomBytes(2).readUInt16BE(0), 2)
  const c = 4
  b[c] = 0x80 | 2 // CONNECT, acknowledge requested
  b[c + 1] = 0xff
  b.writeUInt16BE(1, c + 2)
  b.writeUInt16BE(0, c + 4) // outgoingPeerID
  b[c + 6] = 0xff
  b[c + 7] = 0xff
  b.writeUInt32BE(1392, c + 8) // mtu
  b.writeUInt32BE(32768, c + 12) // window size
  b.writeUInt32BE(48, c + 16) // channel count
  b.writeUInt32BE(0, c + 20)
  b.writeUInt32BE(0, c + 24)
  b.writeUInt32BE(5000, c + 28)
  b.writeUInt32BE(2, c + 32)
  b.writeUInt32BE(2, c + 36)
  b.writeUInt32BE(connectId, c + 40)
  b.writeUInt32BE(connectData >>> 0, c + 44)
  return b
}

/** Sends `count` CONNECTs from one UDP socket (never acknowledging anything); returns the socket
 * and how many datagrams the host sent back. */
export async function connectFlood(port: number, count: number, connectData: () => number): Promise<{socket: UdpSocket; answers: () => number; close(): void}> {
  const socket = createSocket('udp4')
  let answers = 0
  socket.on('message', () => answers++)
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()))
  for (let i = 0; i < count; i++) {
    await new Promise<void>((r, j) => socket.send(enetConnectDatagram(connectData()), port, '127.0.0.1', (e) => (e ? j(e) : r())))
  }
  return {socket, answers: () => answers, close: () => socket.close()}
}

export interface Trickle {
  /** connections the host has closed so far */
  closed(): number
  open(): number
  stop(): void
}

/** Opens `count` connections that each send `prefix` one byte every `everyMs` (slowloris). */
export function slowloris(port: number, count: number, prefix: Buffer, options: {tls?: boolean; everyMs?: number} = {}): Trickle {
  const sockets: Socket[] = []
  let closed = 0
  const timers: NodeJS.Timeout[] = []
  for (let i = 0; i < count; i++) {
    const s = options.tls === true ? tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false}) : connect({host: '127.0.0.1', port})
    s.on('error', () => {})
    s.once('close', () => closed++)
    let at = 0
    const t = setInterval(() => {
      if (s.destroyed || at >= prefix.length) return
      s.write(prefix.subarray(at, ++at))
    }, options.everyMs ?? 1000)
    timers.push(t)
    sockets.push(s)
  }
  return {
    closed: () => closed,
    open: () => count - closed,
    stop: () => {
      for (const t of timers) clearInterval(t)
      for (const s of sockets) s.destroy()
    },
  }
}
