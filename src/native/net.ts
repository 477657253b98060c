/**
 * Typed wrapper over the shim's media networking (libs/include/lumen_net.h): UDP sockets that
 * send batches with GSO/sendmmsg, the absolute-deadline sleep, and the per-stream send thread.
 */
import {check, cString, ErrorBuffer} from './call.js'
import {ShimStatus} from './errors.js'
import {shim} from './library.js'
import {PreparedCall} from './prepared.js'

export const UDP_REUSEADDR = 1
/** UdpSocket.open flag: loopback GSO sends arrive whole (a sink nobody reads datagram by datagram) */
export const UDP_GRO = 2
export type PacingMode = 'line' | 'burst'
export const PACER_RECORD_LEN = 64
const STATS_LEN = 80

export interface UdpStats {
  sent: number
  bytes: number
  sendCalls: number
  gsoMessages: number
  eagainWaits: number
  dropped: number
  received: number
  bytesReceived: number
  gso: boolean
  lastErrno: number
}

/** A batch of datagrams in one Buffer: `count` slots of `stride` bytes, lengths in `lens`. */
export class PacketBatch {
  readonly data: Buffer
  readonly lens: Buffer
  count = 0

  constructor(
    readonly stride: number,
    readonly capacity: number,
  ) {
    this.data = Buffer.alloc(stride * capacity)
    this.lens = Buffer.alloc(4 * capacity)
  }

  slot(i: number): Buffer {
    return this.data.subarray(i * this.stride, (i + 1) * this.stride)
  }

  length(i: number): number {
    return this.lens.readInt32LE(4 * i)
  }

  setLength(i: number, len: number): void {
    this.lens.writeInt32LE(len, 4 * i)
  }

  /** Appends a copy of `packet`; returns its index. */
  push(packet: Uint8Array): number {
    if (this.count >= this.capacity) throw new RangeError(`packet batch full (${this.capacity})`)
    if (packet.length > this.stride) throw new RangeError(`a ${packet.length}-byte packet does not fit a ${this.stride}-byte slot`)
    const i = this.count++
    this.data.set(packet, i * this.stride)
    this.setLength(i, packet.length)
    return i
  }

  packet(i: number): Buffer {
    return this.data.subarray(i * this.stride, i * this.stride + this.length(i))
  }
}

export class UdpSocket {
  private readonly err = new ErrorBuffer()
  private closed = false
  private readonly info = Buffer.alloc(16)
  private readonly from = Buffer.alloc(96)

  private constructor(readonly handle: number) {}

  /** Binds a new socket ('' = any IPv4, '::' = dual-stack IPv6; port 0 = ephemeral). */
  static open(bindAddress = '', port = 0, flags = 0): UdpSocket {
    const err = new ErrorBuffer()
    return new UdpSocket(check('lumen_udp_open', shim().lumen_udp_open([bindAddress, port, flags, ...err.args()]), err))
  }

  /** Takes a dup() of a socket someone else bound (the host's ping socket): sends leave from its port. */
  static adopt(fd: number): UdpSocket {
    const err = new ErrorBuffer()
    return new UdpSocket(check('lumen_udp_adopt', shim().lumen_udp_adopt([fd, ...err.args()]), err))
  }

  get port(): number {
    return check('lumen_udp_port', shim().lumen_udp_port([this.handle, ...this.err.args()]), this.err)
  }

  setPeer(address: string, port: number): void {
    check('lumen_udp_set_peer', shim().lumen_udp_set_peer([this.handle, address, port, ...this.err.args()]), this.err)
  }

  setQos(tos: number, priority: number): void {
    check('lumen_udp_set_qos', shim().lumen_udp_set_qos([this.handle, tos, priority, ...this.err.args()]), this.err)
  }

  /** Turns UDP GSO on or off for batch sends; returns whether it is in use. */
  setGso(enable: boolean): boolean {
    return shim().lumen_udp_set_gso([this.handle, enable ? 1 : 0]) === 1
  }

  /** Sends the whole of `data` as one datagram (pass a subarray to send part of a buffer). */
  send(data: Buffer): number {
    return check('lumen_udp_send', shim().lumen_udp_send([this.handle, data, data.length, ...this.err.args()]), this.err)
  }

  /** The socket's file descriptor, for UdpSocket.adopt elsewhere in this process (which dup()s it). */
  get fd(): number {
    return check('lumen_udp_fd', shim().lumen_udp_fd([this.handle, ...this.err.args()]), this.err)
  }

  /** Sends a whole batch now, at line rate. Returns datagrams taken and the syscalls used. */
  sendBatch(batch: PacketBatch): {sent: number; calls: number; dropped: number; ns: number} {
    const n = check(
      'lumen_udp_send_batch',
      shim().lumen_udp_send_batch([this.handle, batch.data, batch.data.length, batch.lens, batch.lens.length, batch.count, batch.stride, this.info, this.info.length, ...this.err.args()]),
      this.err,
    )
    return {sent: n, calls: this.info.readUInt32LE(0), dropped: this.info.readUInt32LE(4), ns: Number(this.info.readBigInt64LE(8))}
  }

  /** Receives up to batch.capacity datagrams into batch (count set), waiting up to timeoutMs for the first. */
  recvBatch(batch: PacketBatch, timeoutMs: number): {count: number; from?: {address: string; port: number}} {
    const n = check(
      'lumen_udp_recv_batch',
      shim().lumen_udp_recv_batch([this.handle, batch.data, batch.data.length, batch.stride, batch.capacity, batch.lens, batch.lens.length, timeoutMs, this.from, this.from.length, ...this.err.args()]),
      this.err,
    )
    batch.count = n
    if (n === 0) return {count: 0}
    const [address, port] = cString(this.from).split(' ')
    return {count: n, from: {address, port: Number(port)}}
  }

  stats(): UdpStats {
    const b = Buffer.alloc(STATS_LEN)
    shim().lumen_udp_stats([this.handle, b, b.length])
    const v = (i: number) => Number(b.readBigUInt64LE(8 * i))
    return {sent: v(0), bytes: v(1), sendCalls: v(2), gsoMessages: v(3), eagainWaits: v(4), dropped: v(5), received: v(6), bytesReceived: v(7), gso: v(8) === 1, lastErrno: v(9)}
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_udp_close([this.handle])
  }
}

let sleepCall: PreparedCall | undefined

/** Sleeps until the absolute CLOCK_MONOTONIC time (ns), blocking this thread. */
export function sleepUntilNs(deadlineNs: number): void {
  sleepCall ??= new PreparedCall('lumen_sleep_until')
  sleepCall.args[0] = deadlineNs
  sleepCall.call()
}

/** Why real-time scheduling was not granted, or undefined when it was. */
function realtimeRefusal(status: number, err: ErrorBuffer): string | undefined {
  return status < 0 ? err.text() : undefined
}

/**
 * Moves the calling thread (the stream worker's frame loop) to SCHED_FIFO at `priority`; returns
 * the refusal reason (e.g. no CAP_SYS_NICE) instead of throwing: the stream then runs unprivileged.
 */
export function setThreadRealtime(priority: number): string | undefined {
  const err = new ErrorBuffer()
  return realtimeRefusal(shim().lumen_thread_set_realtime([priority, ...err.args()]), err)
}

export interface PacerRecord {
  frameId: number
  packets: number
  bytes: number
  largestBurst: number
  deadlineNs: number
  submitNs: number
  startNs: number
  endNs: number
  sendCalls: number
  dropped: number
  late: boolean
}

function blankRecord(): PacerRecord {
  return {frameId: 0, packets: 0, bytes: 0, largestBurst: 0, deadlineNs: 0, submitNs: 0, startNs: 0, endNs: 0, sendCalls: 0, dropped: 0, late: false}
}

/** Decodes the record at byte `off` of `b`. */
export function decodePacerRecord(b: Buffer, off: number): PacerRecord {
  const words = new Uint32Array(Uint8Array.prototype.slice.call(b, off, off + PACER_RECORD_LEN).buffer)
  return readPacerRecord(words, 0, blankRecord())
}

/**
 * The record at word `w` of `words` into `into`. Typed-array loads, not Buffer's read methods:
 * those return a heap number for a value past 2^31 whenever the call is not inlined (most of a
 * timestamp's low words), ~180 bytes of garbage a record. Typed arrays read in the host's byte
 * order, which is the records' little-endian on every target (x86-64, arm64). The int64 times
 * come out as Number(readBigInt64LE()) gives them, without making a bigint.
 */
function readPacerRecord(words: Uint32Array, w: number, into: PacerRecord): PacerRecord {
  into.frameId = words[w]
  into.packets = words[w + 1]
  into.bytes = words[w + 2]
  into.largestBurst = words[w + 3]
  into.deadlineNs = (words[w + 5] | 0) * 0x1_0000_0000 + words[w + 4]
  into.submitNs = (words[w + 7] | 0) * 0x1_0000_0000 + words[w + 6]
  into.startNs = (words[w + 9] | 0) * 0x1_0000_0000 + words[w + 8]
  into.endNs = (words[w + 11] | 0) * 0x1_0000_0000 + words[w + 10]
  into.sendCalls = words[w + 12]
  into.dropped = words[w + 13]
  into.late = words[w + 14] !== 0
  return into
}

export interface PacerOptions {
  mode: PacingMode
  /** burst mode: at most this many packets back to back */
  burstPackets?: number
  /** burst mode: the share of the frame interval (0..1] a frame's bursts are spread over */
  spread?: number
  /** bytes of queued frames the send thread can hold (at least 1 MiB) */
  ringBytes?: number
  /** microseconds before a frame's deadline the send thread spins instead of sleeping (0..2000; 0 = off) */
  spinUs?: number
}

/** The send thread's spin before a deadline when nobody chose one (serve --spin-us). */
export const DEFAULT_SPIN_US = 100

/** The per-stream send thread: frames are queued with their deadline and sent by the thread. */
export class Pacer {
  private readonly err = new ErrorBuffer()
  private readonly pollBuf = Buffer.alloc(PACER_RECORD_LEN * 64)
  private readonly pollWords = new Uint32Array(this.pollBuf.buffer, this.pollBuf.byteOffset, this.pollBuf.length / 4)
  private closed = false
  readonly handle: number
  // prepared (./prepared.ts) because the frame loop makes them every frame
  private readonly submitVideoCall: PreparedCall
  private readonly pollCall: PreparedCall
  private readonly record = blankRecord()

  constructor(
    readonly socket: UdpSocket,
    readonly options: PacerOptions,
  ) {
    const mode = options.mode === 'burst' ? 1 : 0
    const burst = options.burstPackets ?? 32
    const spread = Math.max(1, Math.min(1000, Math.round((options.spread ?? 0.5) * 1000)))
    this.handle = check('lumen_pacer_open', shim().lumen_pacer_open([socket.handle, mode, burst, spread, options.ringBytes ?? 16 << 20, options.spinUs ?? DEFAULT_SPIN_US, ...this.err.args()]), this.err)
    this.submitVideoCall = new PreparedCall('lumen_pacer_submit_video')
    const a = this.submitVideoCall.args
    a[0] = this.handle
    this.submitVideoCall.setBuffer(8, this.err.bytes)
    a[9] = this.err.length
    this.pollCall = new PreparedCall('lumen_pacer_poll')
    const p = this.pollCall.args
    p[0] = this.handle
    this.pollCall.setBuffer(1, this.pollBuf)
    p[2] = this.pollBuf.length
  }

  /** AES-128-GCM for every packet submitted from now on (media-encryption.md §3), done in the
   * shim while the packets are copied to the send thread; undefined turns it off. */
  setGcm(key: Buffer | undefined, ivCounter = 0): void {
    const k = key ?? Buffer.alloc(0)
    check('lumen_pacer_set_gcm', shim().lumen_pacer_set_gcm([this.handle, k, k.length, ivCounter, ...this.err.args()]), this.err)
  }

  /** SCHED_FIFO for the send thread (above the frame loop's priority); the refusal reason, or undefined. */
  setRealtime(priority: number): string | undefined {
    return realtimeRefusal(shim().lumen_pacer_set_realtime([this.handle, priority, ...this.err.args()]), this.err)
  }

  /** The next GCM IV counter. */
  get gcmCounter(): number {
    return shim().lumen_pacer_gcm_counter([this.handle])
  }

  /** Queues a frame to go out at deadlineNs. False when the send thread's queue is full (frame dropped). */
  submit(frameId: number, deadlineNs: number, intervalNs: number, batch: PacketBatch): boolean {
    const status = shim().lumen_pacer_submit([this.handle, frameId >>> 0, deadlineNs, intervalNs, batch.data, batch.data.length, batch.lens, batch.lens.length, batch.count, batch.stride, ...this.err.args()])
    if (status === ShimStatus.again) return false
    check('lumen_pacer_submit', status, this.err)
    return true
  }

  /** Queues a frame given as raw parts (slots of `stride` bytes in data, int32 lengths in lens). */
  submitRaw(frameId: number, deadlineNs: number, intervalNs: number, data: Buffer, lens: Buffer, count: number, stride: number): boolean {
    const status = shim().lumen_pacer_submit([this.handle, frameId >>> 0, deadlineNs, intervalNs, data, data.length, lens, lens.length, count, stride, ...this.err.args()])
    if (status === ShimStatus.again) return false
    check('lumen_pacer_submit', status, this.err)
    return true
  }

  /**
   * Packetizes one video frame in the shim (headers, shard layout, Reed-Solomon, AES-GCM with the
   * key of {@link setGcm} when `desc` asks for it) straight into the send thread's ring and queues
   * it for deadlineNs (one already past: sent at once). `desc` is a frame descriptor
   * (lumen_packetize.h; src/media/packetizer/native.ts builds it). Returns the packet count, or
   * 0 when the send thread's queue is full (frame dropped).
   */
  submitVideo(frameId: number, deadlineNs: number, intervalNs: number, frame: Buffer, frameLength: number, desc: Buffer): number {
    if (frameLength < 0 || frameLength > frame.length) throw new RangeError(`frame length ${frameLength} is outside the ${frame.length}-byte buffer`)
    const a = this.submitVideoCall.args
    a[1] = frameId >>> 0
    a[2] = deadlineNs
    a[3] = intervalNs
    this.submitVideoCall.setBuffer(4, frame)
    a[5] = frameLength
    this.submitVideoCall.setBuffer(6, desc)
    a[7] = desc.length
    this.err.clear()
    const status = this.submitVideoCall.call()
    if (status === ShimStatus.again) return 0
    return check('lumen_pacer_submit_video', status, this.err)
  }

  /** Completion records of frames sent since the last poll. */
  poll(): PacerRecord[] {
    const out: PacerRecord[] = []
    this.pollEach((r) => out.push({...r}))
    return out
  }

  /** Hands each completion record since the last poll to `onRecord`, in order, in one object
   * reused for all of them (valid during the callback): the frame loop's poll, which makes no
   * garbage. Returns the number of records. */
  pollEach(onRecord: (r: PacerRecord) => void): number {
    let total = 0
    for (;;) {
      const n = this.pollCall.call()
      for (let i = 0; i < n; i++) onRecord(readPacerRecord(this.pollWords, (i * PACER_RECORD_LEN) / 4, this.record))
      total += n
      if (n < 64) return total
    }
  }

  /** Waits up to timeoutMs for queued frames to go out; returns frames still queued. */
  drain(timeoutMs: number): number {
    return shim().lumen_pacer_drain([this.handle, timeoutMs])
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    shim().lumen_pacer_close([this.handle])
  }
}
