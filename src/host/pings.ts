/**
 * The video (47998) and audio (48000) UDP sockets: they receive the client's pings, learn the
 * client's address from the first matching one (README §Session lifecycle 2), and stay bound so the
 * media pipeline sends FROM them (it gets each socket's port and file descriptor).
 *
 * The shim owns these sockets (src/native/net.ts UdpSocket), so their descriptors come from a
 * supported call rather than from Node's internals; the receiver polls them on a short timer
 * (a ping arrives every few hundred ms until the stream starts, so a few ms of delay is nothing).
 */
import {PacketBatch, UdpSocket} from '../native/net.js'
import type {BoundUdpSocket, PeerAddress} from '../protocol/pipeline.js'

export type MediaKind = 'video' | 'audio'

/** A ping is 20 bytes (payload + BE32 counter) or the legacy 4-byte "PING"; anything over this is not a ping. */
export const MAX_PING_BYTES = 64

export interface PingTarget {
  pingPayload: string
  clientAddress: string
  /** accept the legacy "PING" from clientAddress (client without session-id v1) */
  acceptLegacy: boolean
}

interface Waiter {
  target: PingTarget
  peers: Partial<Record<MediaKind, PeerAddress>>
  listeners: Array<(kind: MediaKind) => void>
}

/** How often the ping sockets are read, and the most datagrams taken from one socket per read. */
const POLL_MS = 5
const MAX_PER_POLL = 64

export class MediaPingReceiver {
  private readonly sockets = new Map<MediaKind, UdpSocket>()
  /** one datagram at a time: each one's source address matters (a slot larger than any ping, to tell them from the oversized) */
  private readonly batch = new PacketBatch(MAX_PING_BYTES + 1, 1)
  private timer: NodeJS.Timeout | undefined
  private readonly targets = new Map<string, Waiter>()
  /** datagrams that were not a ping of a known session */
  unmatched = 0
  malformed = 0
  pings = 0

  async bind(bindAddress: string, ports: Record<MediaKind, number>): Promise<void> {
    for (const kind of ['video', 'audio'] as const) this.sockets.set(kind, UdpSocket.open(bindAddress === '0.0.0.0' ? '' : bindAddress, ports[kind]))
    this.timer = setInterval(() => this.poll(), POLL_MS)
    this.timer.unref()
  }

  socket(kind: MediaKind): BoundUdpSocket {
    const s = this.sockets.get(kind)
    if (s === undefined) throw new Error('ping sockets are not bound')
    return {port: s.port, fd: s.fd}
  }

  /** Reads what arrived on both sockets since the last poll. */
  private poll(): void {
    for (const [kind, sock] of this.sockets) {
      for (let i = 0; i < MAX_PER_POLL; i++) {
        const {count, from} = sock.recvBatch(this.batch, 0)
        if (count === 0 || from === undefined) break
        this.onMessage(kind, this.batch.packet(0), from)
      }
    }
  }

  port(kind: MediaKind): number {
    return this.socket(kind).port
  }

  /** Starts listening for a session's pings. */
  expect(target: PingTarget): void {
    if (!this.targets.has(target.pingPayload)) this.targets.set(target.pingPayload, {target, peers: {}, listeners: []})
  }

  forget(pingPayload: string): void {
    this.targets.delete(pingPayload)
  }

  peer(pingPayload: string, kind: MediaKind): PeerAddress | undefined {
    return this.targets.get(pingPayload)?.peers[kind]
  }

  /** Resolves with the peer of the first ping of that kind, or undefined after timeoutMs. */
  waitFor(pingPayload: string, kind: MediaKind, timeoutMs: number): Promise<PeerAddress | undefined> {
    const w = this.targets.get(pingPayload)
    if (w === undefined) return Promise.resolve(undefined)
    const known = w.peers[kind]
    if (known !== undefined) return Promise.resolve(known)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        w.listeners = w.listeners.filter((l) => l !== listener)
        resolve(undefined)
      }, timeoutMs)
      const listener = (k: MediaKind): void => {
        if (k !== kind) return
        clearTimeout(timer)
        w.listeners = w.listeners.filter((l) => l !== listener)
        resolve(w.peers[kind])
      }
      w.listeners.push(listener)
    })
  }

  private onMessage(kind: MediaKind, msg: Buffer, from: PeerAddress): void {
    if (msg.length > MAX_PING_BYTES || msg.length < 4) {
      this.malformed++
      return
    }
    let w: Waiter | undefined
    if (msg.length >= 16) w = this.targets.get(msg.toString('latin1', 0, 16))
    if (w === undefined && msg.length === 4 && msg.toString('latin1') === 'PING') {
      for (const candidate of this.targets.values()) {
        if (candidate.target.acceptLegacy && candidate.target.clientAddress === from.address) w = candidate
      }
    }
    if (w === undefined) {
      this.unmatched++
      return
    }
    this.pings++
    if (w.peers[kind] !== undefined) return // the first match wins
    w.peers[kind] = from
    for (const l of [...w.listeners]) l(kind)
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    for (const s of this.sockets.values()) s.close()
    this.sockets.clear()
    this.targets.clear()
  }
}
