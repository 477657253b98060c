/**
 * The per-stream video loop on one absolute grid of the monotonic clock: frame n's slot is
 * t0 + n/fps (fps may be fractional: a 119.88 Hz client gets 119.88, ./shared.ts streamRate).
 *
 * Two ways to use the slot (--send-at):
 * - `ready` (default): the slot is the CAPTURE time. The loop sleeps to it, captures the newest
 *   picture, encodes it, and the shim packetizes + FEC-protects + encrypts it straight into the
 *   send thread's ring (Pacer.submitVideo), which sends it at once (line rate, or bursts spread
 *   from that moment). Host latency = the stages' own time; the wire cadence follows the
 *   encoder's jitter.
 * - `deadline`: the slot is the SEND time. The loop wakes `lead` before it (adaptive: 1.25 × the
 *   worst of the last 32 frames + 1 ms, capped at one interval), and the send thread holds the
 *   packets until the slot: a fixed cadence on the wire for up to one interval of added latency.
 *
 * In both: a frame that overruns its slot is not chased — the next frame takes the first grid
 * point after it was ready (no drift, no catch-up burst) and counts as late; no new capture by
 * the slot → the last picture is encoded again (re-encoded); an IDR request (shared flag)
 * reaches the encoder on the next frame. The RTP timestamp is the slot on the 90 kHz clock
 * (0 for the first frame, +90000/fps per slot). The frame header's latency field is capture start
 * → first datagram handed to the kernel (in `ready` mode the last frame's hand-off time stands in
 * for this frame's, which is not known when its header is written). Every frame's stage timings
 * go to the perf log (LUMEN_PERF) once the send thread reports it.
 */
import type {NativeVideoPacketizer} from '../packetizer/index.js'
import {Pacer, type PacerRecord, sleepUntilNs} from '../../native/net.js'
import {emptyRecord} from '../../perf/format.js'
import type {PerfLogWriter} from '../../perf/writer.js'
import {monotonicNowNs} from './clock.js'
import {PendingFrames} from './pending-frames.js'
import {Counter, Flag} from './shared.js'

const now = monotonicNowNs

/** One frame from whatever produces encoded frames (a capture + encoder, or pre-encoded data). */
export interface ProducedFrame {
  data: Buffer
  length: number
  idr: boolean
  /** monotonic ns when capture started */
  captureStartNs: number
  captureUs: number
  convertUs: number
  encodeUs: number
  /** false: nothing new was captured and the previous picture was encoded again */
  fresh: boolean
}

export interface FrameProducer {
  /** Captures and encodes the next frame; forceIdr: the encoder must make it an IDR. */
  next(forceIdr: boolean): ProducedFrame | undefined
}

/** ready: capture on the grid, send as soon as the frame is ready; deadline: send on the grid */
export type SendAt = 'ready' | 'deadline'
export const SEND_AT_MODES: readonly SendAt[] = ['ready', 'deadline']

export interface VideoLoopOptions {
  /** frames per second, may be fractional (119.88) */
  fps: number
  producer: FrameProducer
  packetizer: NativeVideoPacketizer
  /** what the grid drives (default ready) */
  sendAt?: SendAt
  pacer: Pacer
  flags: Int32Array
  counters: Float64Array
  perf?: PerfLogWriter
  /** stop after this many frames (bench/tests); default: until the stop flag */
  maxFrames?: number
  /** how often the loop yields to its thread's event loop (default 50 ms): the thread needs it only
   * for rare work (a worker's error events, a finalizer), and each yield is a promise and an
   * immediate, a few hundred bytes of garbage: every frame at 240 fps it was the loop's largest */
  yieldEveryMs?: number
  /** called at each yield with the frames done so far (bench: GC sampling off the frame path) */
  onYield?: (frames: number) => void
  /** deadline mode: fixed lead (ns) instead of the adaptive one (bench) */
  leadNs?: number
}

export interface VideoLoopResult {
  frames: number
  lateFrames: number
  /** per frame: packetize + FEC + encrypt + queue (µs) */
  packetizeUs: Float64Array
  /** per frame: send thread time from first to last datagram handed to the kernel (µs) */
  sendUs: Float64Array
  /** per frame: how far after the moment it was due the first datagram left (µs): the grid
   * point (deadline mode) or the hand-off to the send thread (ready mode) */
  wakeLateUs: Float64Array
  /** per frame: the next moment the frame had to be ready by − ready (µs, negative = late): its
   * send slot (deadline mode) or the next capture slot (ready mode) */
  slackUs: Float64Array
  /** per frame: the RTP timestamp it carried */
  rtpTimestamps: Uint32Array
  /** per frame: when it was ready (monotonic ns), to match a late frame with what else ran then */
  readyNs: Float64Array
  /** per frame: how late the loop woke for it (µs after the moment it slept to): a late frame
   * that woke late lost its time before the loop ran (the previous frame, the event loop, the
   * scheduler), one that woke on time lost it in capture, encode or packetize */
  loopWakeLateUs: Float64Array
  /** per frame: the host's own time on it after the encoder (µs): packetize + FEC + encrypt +
   * hand-off + send, not counting the wait for its slot in deadline mode */
  hostUs: Float64Array
  packets: number
  bytes: number
  largestBurst: number
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export async function runVideoLoop(o: VideoLoopOptions): Promise<VideoLoopResult> {
  const loop = new FrameLoop(o)
  while (Atomics.load(o.flags, Flag.stop) === 0 && loop.result.frames < loop.max) {
    if (!loop.frame()) continue
    if (!loop.dueForYield()) continue
    o.onYield?.(loop.result.frames)
    await nextTurn()
  }
  o.pacer.drain(1000)
  o.pacer.pollEach(loop.onRecord)
  return loop.result
}

/**
 * One frame's work, synchronous, with the loop's state in fields: numbers that live across an
 * await or in a closure's context are boxed on every write (a heap object each), fields and
 * typed arrays are written in place. Every record the loop keeps is reused from frame to frame:
 * at 240 fps each object made per frame brings the next young-generation collection closer, and
 * one is about a millisecond in the middle of a frame.
 */
class FrameLoop {
  readonly result: VideoLoopResult
  readonly max: number
  /** pollEach's callback, made once */
  readonly onRecord = (r: PacerRecord): void => this.handle(r)
  private readonly interval: number
  private readonly ticksPerSlot: number
  private readonly ready: boolean
  private readonly keep: number
  private readonly pending = new PendingFrames()
  private readonly fields = {frameIndex: 0, frameType: 0, latencyTenthMs: 0, rtpTimestamp: 0}
  private readonly row = emptyRecord()
  private readonly recent = new Float64Array(32) // processing times (ns) for the deadline mode's adaptive lead
  private recentAt = 0
  private encodeWindow: Float64Array // the last second's encode times (µs)
  private encodeCount = 0
  private secFrames = 0
  private secBytes = 0
  private secBurst = 0
  // handOffNs (ready mode): packetize start → first datagram handed to the kernel, as the last
  // frame measured it. In an object literal, not class fields: V8 writes a double into a literal's
  // field in place, while a class field that started out undefined or an integer gets a new heap
  // number on every write
  private readonly times = {handOffNs: 0, secondStartNs: 0, yieldNs: 0}
  private readonly yieldEveryNs: number
  private readonly t0: number
  private slot = 0
  private frameIndex = 1
  private first = true

  constructor(private readonly o: VideoLoopOptions) {
    this.interval = 1e9 / o.fps
    this.ticksPerSlot = 90000 / o.fps
    this.ready = (o.sendAt ?? 'ready') === 'ready'
    this.max = o.maxFrames ?? Number.POSITIVE_INFINITY
    const keep = Number.isFinite(this.max) ? this.max : 0
    this.keep = keep
    this.result = {
      frames: 0,
      lateFrames: 0,
      packetizeUs: new Float64Array(keep),
      sendUs: new Float64Array(keep),
      wakeLateUs: new Float64Array(keep),
      slackUs: new Float64Array(keep),
      rtpTimestamps: new Uint32Array(keep),
      readyNs: new Float64Array(keep),
      loopWakeLateUs: new Float64Array(keep),
      hostUs: new Float64Array(keep),
      packets: 0,
      bytes: 0,
      largestBurst: 0,
    }
    this.encodeWindow = new Float64Array(Math.ceil(o.fps) + 8)
    this.times.secondStartNs = now()
    this.times.yieldNs = this.times.secondStartNs
    this.yieldEveryNs = (o.yieldEveryMs ?? 50) * 1e6
    this.t0 = this.ready ? now() : now() + this.interval
  }

  /** Sleeps to the next slot and sends its frame; false when the producer had none (no yield then). */
  frame(): boolean {
    const {o, interval, result} = this
    const {flags, counters} = o
    const slotNs = this.t0 + this.slot * interval
    let wakeAt = slotNs
    if (this.ready) {
      sleepUntilNs(Math.round(slotNs))
    } else {
      // wake early enough to have the frame ready by its send slot
      let lead = o.leadNs
      if (lead === undefined) {
        let worst = 0
        for (let i = 0; i < this.recent.length; i++) if (this.recent[i] > worst) worst = this.recent[i]
        lead = Math.min(interval, worst * 1.25 + 1_000_000)
      }
      wakeAt = slotNs - lead
      sleepUntilNs(Math.round(wakeAt))
    }

    // load first: an exchange on shared memory makes a heap object, and the flag is rarely set
    const forceIdr = this.first || (Atomics.load(flags, Flag.idr) === 1 && Atomics.exchange(flags, Flag.idr, 0) === 1)
    const wake = now()
    const frame = o.producer.next(forceIdr)
    if (frame === undefined || frame.length === 0) {
      this.slot++
      return false
    }
    const p0 = now()
    const latencyNs = this.ready ? p0 + this.times.handOffNs - frame.captureStartNs : Math.max(slotNs, p0) - frame.captureStartNs
    const rtpTimestamp = Math.round(this.slot * this.ticksPerSlot) >>> 0
    const fields = this.fields
    fields.frameIndex = this.frameIndex
    fields.frameType = frame.idr ? 2 : 1
    fields.latencyTenthMs = latencyNs / 1e5
    fields.rtpTimestamp = rtpTimestamp
    o.packetizer.describe(frame.length, fields)
    // ready mode: the slot has passed, so the send thread sends at once
    const sent = o.pacer.submitVideo(this.frameIndex, Math.round(slotNs), Math.round(interval), frame.data, frame.length, o.packetizer.desc)
    const p1 = now()
    const packetizeUs = (p1 - p0) / 1e3
    this.recent[this.recentAt++ % this.recent.length] = p1 - wake
    if (result.frames < this.keep) {
      result.packetizeUs[result.frames] = packetizeUs
      result.rtpTimestamps[result.frames] = rtpTimestamp
      result.readyNs[result.frames] = p1
      result.loopWakeLateUs[result.frames] = (wake - wakeAt) / 1e3
    }
    // late: ready after the moment it was due (its send slot, or in ready mode the next capture slot)
    const late = p1 > slotNs + (this.ready ? interval : 0)
    if (sent > 0) {
      o.packetizer.advance(sent)
      const p = this.pending.add(this.frameIndex)
      p.slotNs = slotNs
      p.packetizeStartNs = p0
      p.readyNs = p1
      p.late = late
      p.captureStartNs = frame.captureStartNs
      p.captureUs = frame.captureUs
      p.convertUs = frame.convertUs
      p.encodeUs = frame.encodeUs
      p.packetizeUs = packetizeUs
      p.idr = frame.idr
      p.reencoded = !frame.fresh
      p.clientLost = Atomics.load(flags, Flag.clientLost)
      if (frame.fresh) counters[Counter.uniqueFrames]++
      else counters[Counter.reencodedFrames]++
      if (frame.idr) counters[Counter.idrFrames]++
      this.frameIndex++
      this.first = false
    } else {
      counters[Counter.droppedFrames]++
      // the client will miss this frame: the next one must be an IDR
      Atomics.store(flags, Flag.idr, 1)
    }
    result.frames++
    if (this.encodeCount === this.encodeWindow.length) {
      const wider = new Float64Array(this.encodeWindow.length * 2)
      wider.set(this.encodeWindow)
      this.encodeWindow = wider
    }
    this.encodeWindow[this.encodeCount++] = frame.encodeUs + frame.convertUs
    Atomics.store(flags, Flag.running, 1)

    o.pacer.pollEach(this.onRecord)
    const t = now()
    if (t - this.times.secondStartNs >= 1e9) this.publishSecond(t)

    // next slot: the next grid point, or the first one after now when this frame overran it
    this.slot++
    if (p1 > this.t0 + this.slot * interval) this.slot = Math.ceil((p1 - this.t0) / interval)
    return true
  }

  /** true once `yieldEveryMs` have passed since it last was */
  dueForYield(): boolean {
    const t = now()
    if (t - this.times.yieldNs < this.yieldEveryNs) return false
    this.times.yieldNs = t
    return true
  }

  /** The last second's figures into the shared counters. */
  private publishSecond(t: number): void {
    const counters = this.o.counters
    const n = this.encodeCount
    const w = this.encodeWindow.subarray(0, n).sort()
    counters[Counter.encodeP99Us] = n > 0 ? w[Math.min(n - 1, Math.floor(n * 0.99))] : 0
    counters[Counter.fpsLastSecond] = (this.secFrames * 1e9) / (t - this.times.secondStartNs)
    counters[Counter.bytesLastSecond] = (this.secBytes * 1e9) / (t - this.times.secondStartNs)
    counters[Counter.burstLastSecond] = this.secBurst
    this.encodeCount = 0
    this.secFrames = 0
    this.secBytes = 0
    this.secBurst = 0
    this.times.secondStartNs = t
  }

  /** A completion record from the send thread. */
  private handle(r: PacerRecord): void {
    const {o, result, interval} = this
    const {flags, counters} = o
    const p = this.pending.take(r.frameId)
    if (r.frameId === 1) Atomics.store(flags, Flag.firstSent, 1)
    const i = r.frameId - 1
    const sendUs = (r.endNs - r.startNs) / 1e3
    const dueNs = this.ready ? r.submitNs : r.deadlineNs
    const slackUs = p === undefined ? 0 : (this.ready ? p.slotNs + interval - p.readyNs : p.slotNs - p.readyNs) / 1e3
    if (this.ready && p !== undefined) this.times.handOffNs = r.startNs - p.packetizeStartNs
    if (i < this.keep) {
      result.sendUs[i] = sendUs
      result.wakeLateUs[i] = Math.max(0, r.startNs - dueNs) / 1e3
      result.slackUs[i] = slackUs
      if (p !== undefined) result.hostUs[i] = this.ready ? (r.endNs - p.packetizeStartNs) / 1e3 : p.packetizeUs + sendUs
    }
    result.packets += r.packets
    result.bytes += r.bytes
    if (r.largestBurst > result.largestBurst) result.largestBurst = r.largestBurst
    if (p?.late === true) {
      result.lateFrames++
      counters[Counter.lateFrames]++
    }
    counters[Counter.framesSent]++
    counters[Counter.packetsSent] += r.packets
    counters[Counter.bytesSent] += r.bytes
    this.secFrames++
    this.secBytes += r.bytes
    if (r.largestBurst > this.secBurst) this.secBurst = r.largestBurst
    if (o.perf !== undefined && p !== undefined) {
      const row = this.row
      row.frameIndex = r.frameId - 1
      row.captureTimeUs = (p.captureStartNs - this.t0) / 1e3
      row.captureUs = p.captureUs
      row.convertUs = p.convertUs
      row.encodeUs = p.encodeUs
      row.packetizeUs = p.packetizeUs
      row.sendUs = sendUs
      row.totalUs = (r.endNs - p.captureStartNs) / 1e3
      row.slackUs = slackUs
      row.packets = r.packets
      row.bytes = r.bytes
      row.burstPackets = r.largestBurst
      row.idr = p.idr
      row.reencoded = p.reencoded
      row.clientFramesLost = p.clientLost
      o.perf.append(row)
    }
  }
}
