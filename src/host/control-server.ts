/**
 * The control stream on UDP 47999 (control-stream.md): an ENet host in the shim, polled from a
 * timer on the main thread. Connections are matched to launch sessions by connect data;
 * every message is opened from its AES-GCM envelope, decoded and dispatched; malformed packets
 * are counted and dropped.
 */
import {EnetDisconnect, EnetHost, EnetSend, type EnetEvent, type EnetExpected, type EnetGuardStats} from '../native/enet.js'
import {
  ControlDecodeError,
  ControlType,
  decodeClientMessage,
  MAX_CONTROL_PACKET,
  openControl,
  sealControl,
  terminationPayload,
  type ClientMessage,
} from './control-codec.js'
import {ENET_LIMITS} from './limits.js'

export interface ControlPeer {
  peer: number
  address: string
  port: number
  key: Buffer
  hostSeq: number
  lastActivity: number
  sessionId: number
}

export interface ControlHandlers {
  /** a CONNECT: return the session (key, id) the connect data belongs to, or undefined to refuse */
  connect(connectData: number, address: string): {sessionId: number; key: Buffer} | undefined
  message(peer: ControlPeer, message: ClientMessage): void
  /** the peer entry exists: the session's stream begins */
  connected(peer: ControlPeer): void
  /** the peer is gone (client disconnect, idle timeout, refused); reason for the log */
  disconnected(peer: ControlPeer, reason: string): void
  malformed(what: string, detail: string): void
  /** the end of one service round (every tick, after its messages): batched work such as a
   * round's input events goes out here, in one call per stream */
  roundEnd?(): void
}

export interface ControlServerOptions {
  bindAddress: string
  port: number
  /** poll period of the ENet service timer while a peer is connected (4 ms) */
  tickMs?: number
  /** poll period while no peer is connected (25 ms) */
  idleTickMs?: number
  /** end a session after this long without control traffic (README §5: 10 s) */
  idleTimeoutMs?: number
}

export class ControlServer {
  private host?: EnetHost
  private timer?: NodeJS.Timeout
  private readonly peers = new Map<number, ControlPeer>()
  private readonly idleTimeoutMs: number
  private expectedKey = ''
  messages = 0

  constructor(
    private readonly options: ControlServerOptions,
    private readonly handlers: ControlHandlers,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000
  }

  /** Binds and starts polling; returns the bound port. */
  listen(): number {
    const bind = /^\d+\.\d+\.\d+\.\d+$/.test(this.options.bindAddress) ? this.options.bindAddress : ''
    this.host = new EnetHost({bindAddress: bind, port: this.options.port, peerCount: ENET_LIMITS.peers, channelLimit: 0, eventBufferBytes: 256 * 1024})
    // a CONNECT whose connect data no launch expects is dropped before it takes a peer slot
    this.host.guard(ENET_LIMITS.halfOpenPerSource, ENET_LIMITS.handshakeMs)
    this.schedule()
    return this.host.port
  }

  get port(): number {
    return this.host?.port ?? 0
  }

  /** Sends one encrypted message to a peer (reliable, channel 0). */
  send(peerId: number, type: number, payload: Buffer): boolean {
    const p = this.peers.get(peerId)
    if (p === undefined || this.host === undefined) return false
    try {
      this.host.send(peerId, 0, sealControl(p.key, p.hostSeq++, type, payload, 'host'), EnetSend.reliable)
      this.host.flush()
      return true
    } catch {
      return false
    }
  }

  /** Sends termination 0x0109 (graceful unless told), flushes, then disconnects once it is
   * delivered. The caller ends its own bookkeeping: `disconnected` is not called. */
  terminate(peerId: number, reason?: number): void {
    const p = this.peers.get(peerId)
    if (p === undefined || this.host === undefined) return
    this.send(peerId, ControlType.termination, terminationPayload(reason))
    this.host.disconnect(peerId, 0, EnetDisconnect.later)
    this.peers.delete(peerId)
  }

  /** The connections the shim lets in: the launches that reached ANNOUNCE (connect data, address). */
  expect(entries: EnetExpected[]): void {
    const key = entries.map((e) => `${e.data >>> 0}@${e.address}`).join(',')
    if (this.host === undefined || key === this.expectedKey) return
    this.host.expect(entries)
    this.expectedKey = key
  }

  /** The shim's CONNECT guard counters (totals). */
  guardStats(): EnetGuardStats | undefined {
    return this.host?.guardStats()
  }

  peerStats(peerId: number) {
    return this.host?.stats(peerId)
  }

  /** Polls every tickMs (4) while a peer is connected, every idleTickMs (25) otherwise: a new
   * CONNECT waits at most that long for its VERIFY_CONNECT (the client allows 10 s). */
  private schedule(): void {
    if (this.host === undefined) return
    const delay = this.peers.size > 0 ? (this.options.tickMs ?? 4) : (this.options.idleTickMs ?? 25)
    this.timer = setTimeout(() => {
      this.tick()
      this.schedule()
    }, delay)
    this.timer.unref?.()
  }

  tick(): void {
    const host = this.host
    if (host === undefined) return
    let events: EnetEvent[]
    try {
      events = host.service(0)
    } catch (error) {
      this.handlers.malformed('enet', (error as Error).message)
      return
    }
    for (const e of events) this.onEvent(host, e)
    this.handlers.roundEnd?.()
    const now = Date.now()
    for (const p of [...this.peers.values()]) {
      if (now - p.lastActivity > this.idleTimeoutMs) {
        this.peers.delete(p.peer)
        host.disconnect(p.peer, 0, EnetDisconnect.now)
        this.handlers.disconnected(p, `no control traffic for ${this.idleTimeoutMs} ms`)
      }
    }
  }

  private onEvent(host: EnetHost, e: EnetEvent): void {
    switch (e.type) {
      case 'connect': {
        const match = this.handlers.connect(e.data, e.address)
        if (match === undefined) {
          this.handlers.malformed('control-connect', `unknown connect data ${e.data} from ${e.address}`)
          host.disconnect(e.peer, 0, EnetDisconnect.now)
          return
        }
        host.setTimeout(e.peer, 0, 10_000, 10_000)
        const peer: ControlPeer = {peer: e.peer, address: e.address, port: e.port, key: match.key, hostSeq: 0, lastActivity: Date.now(), sessionId: match.sessionId}
        this.peers.set(e.peer, peer)
        this.handlers.connected(peer)
        return
      }
      case 'disconnect': {
        const p = this.peers.get(e.peer)
        if (p === undefined) return
        this.peers.delete(e.peer)
        this.handlers.disconnected(p, 'client disconnected')
        return
      }
      case 'dropped':
        this.handlers.malformed('control', `packet of ${e.length} bytes exceeds the event buffer`)
        return
      case 'receive': {
        const p = this.peers.get(e.peer)
        if (p === undefined) return
        p.lastActivity = Date.now()
        if (e.data.length > MAX_CONTROL_PACKET) {
          this.handlers.malformed('control', `packet of ${e.data.length} bytes is too large`)
          return
        }
        let message: ClientMessage
        try {
          const opened = openControl(p.key, e.data, 'client')
          message = decodeClientMessage(opened.type, opened.payload)
        } catch (error) {
          if (!(error instanceof ControlDecodeError)) throw error
          this.handlers.malformed('control', error.message)
          return
        }
        this.messages++
        this.handlers.message(p, message)
        return
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer)
    const host = this.host
    this.host = undefined
    if (host === undefined) return
    for (const p of this.peers.values()) host.disconnect(p.peer, 0, EnetDisconnect.now)
    host.flush()
    this.peers.clear()
    host.destroy()
  }
}
