/**
 * Typed wrapper over the shim's ENet (libs/include/lumen_enet.h): one host object per ENet
 * host, `service()` returns every ready event of a tick in one call.
 */
import {check, ErrorBuffer} from './call.js'
import {shim} from './library.js'

export type EnetEvent =
  | {type: 'connect'; peer: number; data: number; address: string; port: number}
  | {type: 'disconnect'; peer: number; data: number; address: string; port: number}
  | {type: 'receive'; peer: number; channel: number; flags: number; data: Buffer; address: string; port: number}
  | {type: 'dropped'; peer: number; channel: number; length: number; address: string; port: number}

export const EnetSend = {reliable: 1, unsequenced: 2} as const
export const EnetDisconnect = {graceful: 0, now: 1, later: 2, reset: 3} as const

export interface EnetPeerStats {
  state: number
  roundTripMs: number
  roundTripVarianceMs: number
  /** packet loss as a fraction 0..1 */
  packetLoss: number
  packetsSent: number
  packetsLost: number
}

const HEADER = 24
const GUARD_ENTRY_LEN = 8
export const GUARD_MAX_EXPECTED = 16
const GUARD_STATS_LEN = 24

/** The CONNECT guard's counters (lumen_enet.h, LUMEN_ENET_GUARD_*), totals since it was enabled. */
export interface EnetGuardStats {
  admitted: number
  /** connect data that matches no expected connection */
  unknown: number
  /** the source already held its share of half-open peers */
  perSource: number
  /** the expected connection already held its half-open peers */
  entryFull: number
  /** a datagram for a new peer that is not a CONNECT */
  malformed: number
  /** half-open peers reset after the handshake timeout */
  timedOut: number
}

/** One connection the guard lets in: its connect data, or (data 0) its client's IPv4 address. */
export interface EnetExpected {
  data: number
  address: string
}

/** Decodes the event records the shim packed into `buf[0..len)` (copies receive payloads). */
export function decodeEnetEvents(buf: Buffer, len: number): EnetEvent[] {
  const out: EnetEvent[] = []
  let off = 0
  while (off + HEADER <= len) {
    const type = buf[off]
    const channel = buf[off + 1]
    const flags = buf.readUInt16LE(off + 2)
    const peer = buf.readUInt32LE(off + 4)
    const data = buf.readUInt32LE(off + 8)
    const address = `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`
    const port = buf.readUInt16LE(off + 16)
    const length = buf.readUInt32LE(off + 20)
    off += HEADER
    if (type === 1) out.push({type: 'connect', peer, data, address, port})
    else if (type === 2) out.push({type: 'disconnect', peer, data, address, port})
    else if (type === 3) {
      if (off + length > len) break
      out.push({type: 'receive', peer, channel, flags, data: Buffer.from(buf.subarray(off, off + length)), address, port})
      off += length
    } else if (type === 4) out.push({type: 'dropped', peer, channel, length, address, port})
    else break
  }
  return out
}

export interface EnetHostOptions {
  /** IPv4 address to bind, '' = any */
  bindAddress?: string
  /** 0 = ephemeral */
  port?: number
  peerCount?: number
  /** 0 = 255 */
  channelLimit?: number
  /** bytes of the event buffer (the largest packet that can be received) */
  eventBufferBytes?: number
}

export class EnetHost {
  readonly handle: number
  readonly port: number
  private readonly events: Buffer
  private closed = false

  constructor(options: EnetHostOptions = {}) {
    const err = new ErrorBuffer()
    this.handle = check(
      'lumen_enet_host_create',
      shim().lumen_enet_host_create([options.bindAddress ?? '', options.port ?? 0, options.peerCount ?? 32, options.channelLimit ?? 0, ...err.args()]),
      err,
    )
    this.port = check('lumen_enet_host_port', shim().lumen_enet_host_port([this.handle, ...err.args()]), err)
    this.events = Buffer.alloc(options.eventBufferBytes ?? 65536)
  }

  /** Starts a connection; returns the peer index (the connect event follows from service()). */
  connect(address: string, port: number, channels: number, data: number): number {
    const err = new ErrorBuffer()
    return check('lumen_enet_host_connect', shim().lumen_enet_host_connect([this.handle, address, port, channels, data >>> 0, ...err.args()]), err)
  }

  /** One tick: sends queued packets, receives, returns every ready event. */
  service(timeoutMs = 0): EnetEvent[] {
    if (this.closed) return []
    const err = new ErrorBuffer()
    const n = check('lumen_enet_service', shim().lumen_enet_service([this.handle, timeoutMs, this.events, this.events.length, ...err.args()]), err)
    return n === 0 ? [] : decodeEnetEvents(this.events, n)
  }

  send(peer: number, channel: number, data: Buffer, flags: number = EnetSend.reliable): void {
    const err = new ErrorBuffer()
    check('lumen_enet_send', shim().lumen_enet_send([this.handle, peer, channel, flags, data, data.length, ...err.args()]), err)
  }

  flush(): void {
    if (!this.closed) shim().lumen_enet_flush([this.handle])
  }

  disconnect(peer: number, data = 0, mode: number = EnetDisconnect.graceful): void {
    if (!this.closed) shim().lumen_enet_disconnect([this.handle, peer, data >>> 0, mode])
  }

  setTimeout(peer: number, limit: number, minMs: number, maxMs: number): void {
    shim().lumen_enet_peer_timeout([this.handle, peer, limit, minMs, maxMs])
  }

  /** Enables the CONNECT guard (host side): only expected connections get a peer slot. */
  guard(perSource: number, handshakeMs: number): void {
    const err = new ErrorBuffer()
    check('lumen_enet_guard', shim().lumen_enet_guard([this.handle, perSource, handshakeMs, ...err.args()]), err)
  }

  /** Replaces the guard's expected connections (at most GUARD_MAX_EXPECTED, the newest kept). */
  expect(entries: EnetExpected[]): void {
    const list = entries.slice(-GUARD_MAX_EXPECTED)
    const buf = Buffer.alloc(Math.max(1, list.length * GUARD_ENTRY_LEN))
    list.forEach((e, i) => {
      buf.writeUInt32LE(e.data >>> 0, i * GUARD_ENTRY_LEN)
      const octets = /^\d+\.\d+\.\d+\.\d+$/.test(e.address) ? e.address.split('.').map(Number) : [0, 0, 0, 0]
      for (let k = 0; k < 4; k++) buf[i * GUARD_ENTRY_LEN + 4 + k] = octets[k] & 0xff
    })
    const err = new ErrorBuffer()
    check('lumen_enet_guard_expect', shim().lumen_enet_guard_expect([this.handle, buf, buf.length, list.length, ...err.args()]), err)
  }

  guardStats(): EnetGuardStats {
    const buf = Buffer.alloc(GUARD_STATS_LEN)
    const err = new ErrorBuffer()
    check('lumen_enet_guard_stats', shim().lumen_enet_guard_stats([this.handle, buf, buf.length, ...err.args()]), err)
    const at = (i: number): number => buf.readUInt32LE(i * 4)
    return {admitted: at(0), unknown: at(1), perSource: at(2), entryFull: at(3), malformed: at(4), timedOut: at(5)}
  }

  stats(peer: number): EnetPeerStats | undefined {
    const buf = Buffer.alloc(24)
    if (shim().lumen_enet_peer_stats([this.handle, peer, buf, buf.length]) !== 24) return undefined
    return {
      state: buf.readUInt32LE(0),
      roundTripMs: buf.readUInt32LE(4),
      roundTripVarianceMs: buf.readUInt32LE(8),
      packetLoss: buf.readUInt32LE(12) / 65536,
      packetsSent: buf.readUInt32LE(16),
      packetsLost: buf.readUInt32LE(20),
    }
  }

  destroy(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_enet_host_destroy([this.handle])
  }
}
