/**
 * Bounds on the TCP listeners (HTTP, HTTPS, RTSP; numbers in limits.ts): connections per source
 * address and per port, an idle timeout, and a deadline for the whole request. At a cap, the new
 * connection takes the place of the oldest one still sending its request (from the same source,
 * or at the port cap from the source holding the most), so a trickle of half-sent requests cannot
 * lock out a client that sends its request at once; connections whose request is being answered
 * (a pairing request waiting for the PIN) never give way.
 */
import type {Server, Socket} from 'node:net'

import type {DropCounters, DropPort} from './drops.js'
import {CONNECTION_LIMITS} from './limits.js'

export type ConnectionLimits = Pick<typeof CONNECTION_LIMITS, 'perSource' | 'total' | 'idleMs' | 'requestMs'>

interface Tracked {
  socket: Socket
  source: string
  /** the request arrived whole: the answer is the host's to give */
  complete: boolean
  deadline?: NodeJS.Timeout
}

export class ConnectionGuard {
  private readonly bySource = new Map<string, Set<Tracked>>()
  private readonly bySocket = new WeakMap<Socket, Tracked>()
  private open = 0
  private readonly limits: ConnectionLimits

  constructor(
    private readonly port: DropPort,
    private readonly drops: DropCounters,
    limits: Partial<ConnectionLimits> = {},
  ) {
    this.limits = {...CONNECTION_LIMITS, ...limits}
  }

  /** Guards every connection the server accepts (raw TCP: before TLS on HTTPS). */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket))
  }

  get connections(): number {
    return this.open
  }

  /** connections admitted and closed since start */
  closed = 0

  /** Takes a new connection in (evicting as above); false when it was refused and destroyed. */
  admit(socket: Socket): boolean {
    const source = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    const mine = this.bySource.get(source)
    if (mine !== undefined && mine.size >= this.limits.perSource && !this.evictOldest(mine, 'per-source-cap')) return this.refuse(socket, 'per-source-cap')
    if (this.open >= this.limits.total && !this.evictFromLargest()) return this.refuse(socket, 'total-cap')
    const t: Tracked = {socket, source, complete: false}
    let set = this.bySource.get(source)
    if (set === undefined) this.bySource.set(source, (set = new Set()))
    set.add(t)
    this.bySocket.set(socket, t)
    this.open++
    socket.setTimeout(this.limits.idleMs, () => {
      this.drops.count(this.port, 'idle-timeout')
      socket.destroy()
    })
    t.deadline = setTimeout(() => {
      if (t.complete) return
      this.drops.count(this.port, 'request-deadline')
      socket.destroy()
    }, this.limits.requestMs)
    t.deadline.unref?.()
    socket.once('close', () => this.untrack(t))
    return true
  }

  /** The request arrived whole: no deadline and no idle timeout while the host answers. */
  requestComplete(socket: Socket): void {
    const t = this.lookup(socket)
    if (t === undefined) return
    t.complete = true
    clearTimeout(t.deadline)
    t.socket.setTimeout(0)
  }

  /** The answer is sent: a client that keeps the connection open is closed after the idle timeout. */
  responseDone(socket: Socket): void {
    const t = this.lookup(socket)
    if (t === undefined) return
    t.socket.setTimeout(this.limits.idleMs, () => t.socket.destroy())
  }

  private lookup(socket: Socket): Tracked | undefined {
    // an HTTPS request's socket is the TLS socket over the guarded TCP one
    return this.bySocket.get(socket) ?? this.bySocket.get((socket as Socket & {_parent?: Socket})._parent as Socket)
  }

  private evictOldest(set: Set<Tracked>, kind: string): boolean {
    for (const t of set) {
      if (t.complete) continue
      this.drops.count(this.port, kind)
      this.untrack(t)
      t.socket.destroy()
      return true
    }
    return false
  }

  private evictFromLargest(): boolean {
    const sources = [...this.bySource.values()].sort((a, b) => b.size - a.size)
    return sources.some((set) => this.evictOldest(set, 'total-cap'))
  }

  private refuse(socket: Socket, kind: string): false {
    this.drops.count(this.port, kind)
    socket.destroy()
    return false
  }

  private untrack(t: Tracked): void {
    const set = this.bySource.get(t.source)
    if (set === undefined || !set.delete(t)) return
    if (set.size === 0) this.bySource.delete(t.source)
    clearTimeout(t.deadline)
    this.open--
    this.closed++
  }
}
