/**
 * The per-stream video loop: one absolute deadline per frame on the monotonic clock
 * (t0 + n/fps). Before each deadline it captures, encodes and packetizes (+FEC, +encrypt) the
 * frame, then queues its packets on the send thread (../../native/net.ts Pacer), which sleeps to
 * the deadline and sends them (line rate, or bursts). The loop never sleeps on behalf of the
 * send: it sleeps only to wake for the next frame's capture, `lead` before its deadline.
 *
 * - No new capture by the deadline → the last frame is encoded again (counted as re-encoded).
 * - A frame ready after its deadline goes out at once; the grid is kept: the next deadline is the
 *   first grid point after now (no drift, no catch-up burst).
 * - An IDR request (shared flag) reaches the encoder on the next frame.
 * - Every frame's stage timings go to the perf log (LUMEN_PERF) once the send thread reports it.
 */
import {VideoPacketizer} from '../packetizer/index.js'
import {PacketBatch, Pacer, type PacerRecord, sleepUntilNs} from '../../native/net.js'
import type {PerfLogWriter} from '../../perf/writer.js'
import {Counter, Flag} from './shared.js'

const now = (): number => Number(process.hrtime.bigint())

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

export interface VideoLoopOptions {
  fps: number
  producer: FrameProducer
  packetizer: VideoPacketizer
  pacer: Pacer
  flags: Int32Array
  counters: Float64Array
  perf?: PerfLogWriter
  /** stop after this many frames (bench/tests); default: until the stop flag */
  maxFrames?: number
  /** called after every frame (the worker yields to its event loop here) */
  yieldEvery?: () => Promise<void>
  /** fixed lead (ns) instead of the adaptive one (bench) */
  leadNs?: number
}

interface Pending {
  captureStartNs: number
  captureUs: number
  convertUs: number
  encodeUs: number
  packetizeUs: number
  idr: boolean
  reencoded: boolean
  clientLost: number
}

export interface VideoLoopResult {
  frames: number
  lateFrames: number
  /** per frame: packetize + FEC + encrypt + queue (µs) */
  packetizeUs: Float64Array
  /** per frame: send thread time from first to last datagram handed to the kernel (µs) */
  sendUs: Float64Array
  /** per frame: how far after the deadline the first datagram left (µs) */
  wakeLateUs: Float64Array
  /** per frame: deadline − ready (µs, negative = late) */
  slackUs: Float64Array
  packets: number
  bytes: number
  largestBurst: number
}

export async function runVideoLoop(o: VideoLoopOptions): Promise<VideoLoopResult> {
  const interval = 1e9 / o.fps
  const {flags, counters} = o
  const max = o.maxFrames ?? Number.POSITIVE_INFINITY
  const keep = Number.isFinite(max) ? max : 0
  const result: VideoLoopResult = {
    frames: 0,
    lateFrames: 0,
    packetizeUs: new Float64Array(keep),
    sendUs: new Float64Array(keep),
    wakeLateUs: new Float64Array(keep),
    slackUs: new Float64Array(keep),
    packets: 0,
    bytes: 0,
    largestBurst: 0,
  }
  const pending = new Map<number, Pending>()
  const recent = new Float64Array(32) // processing times (ns) for the adaptive lead
  let recentAt = 0
  const encodeWindow: number[] = []
  let secondStart = now()
  let secFrames = 0
  let secBytes = 0
  let secBurst = 0
  let lens = Buffer.alloc(0)
  let lensStride = 0

  const t0 = now() + interval
  let slot = 0
  let frameIndex = 1
  let first = true
  let lastPacketizeUs = 0

  const handle = (r: PacerRecord): void => {
    const p = pending.get(r.frameId)
    pending.delete(r.frameId)
    if (r.frameId === 1) Atomics.store(flags, Flag.firstSent, 1)
    const i = r.frameId - 1
    const sendUs = (r.endNs - r.startNs) / 1e3
    const slackUs = (r.deadlineNs - r.submitNs) / 1e3
    if (i < keep) {
      result.sendUs[i] = sendUs
      result.wakeLateUs[i] = Math.max(0, r.startNs - r.deadlineNs) / 1e3
      result.slackUs[i] = slackUs
    }
    result.packets += r.packets
    result.bytes += r.bytes
    if (r.largestBurst > result.largestBurst) result.largestBurst = r.largestBurst
    if (r.late) {
      result.lateFrames++
      counters[Counter.lateFrames]++
    }
    counters[Counter.framesSent]++
    counters[Counter.packetsSent] += r.packets
    counters[Counter.bytesSent] += r.bytes
    secFrames++
    secBytes += r.bytes
    if (r.largestBurst > secBurst) secBurst = r.largestBurst
    if (o.perf !== undefined && p !== undefined) {
      o.perf.append({
        frameIndex: r.frameId - 1,
        captureTimeUs: (p.captureStartNs - (t0 - interval)) / 1e3,
        captureUs: p.captureUs,
        convertUs: p.convertUs,
        encodeUs: p.encodeUs,
        packetizeUs: p.packetizeUs,
        sendUs,
        totalUs: (r.endNs - p.captureStartNs) / 1e3,
        slackUs,
        packets: r.packets,
        bytes: r.bytes,
        burstPackets: r.largestBurst,
        idr: p.idr,
        reencoded: p.reencoded,
        clientFramesLost: p.clientLost,
      })
    }
  }

  while (Atomics.load(flags, Flag.stop) === 0 && result.frames < max) {
    const deadline = t0 + slot * interval
    // wake early enough to have the frame ready by the deadline
    let lead = o.leadNs
    if (lead === undefined) {
      let worst = 0
      for (const v of recent) if (v > worst) worst = v
      lead = Math.min(interval, worst * 1.25 + 1_000_000)
    }
    sleepUntilNs(Math.round(deadline - lead))

    const forceIdr = first || Atomics.exchange(flags, Flag.idr, 0) === 1
    const wake = now()
    const frame = o.producer.next(forceIdr)
    if (frame === undefined || frame.length === 0) {
      slot++
      continue
    }
    const p0 = now()
    const readyDeadline = Math.max(deadline, p0)
    const latencyTenthMs = (readyDeadline - frame.captureStartNs) / 1e5
    const batch = o.packetizer.packetize({
      data: frame.data.subarray(0, frame.length),
      frameIndex,
      frameType: frame.idr ? 2 : 1,
      latencyTenthMs,
      rtpTimestamp: Math.round(((frame.captureStartNs - t0) / 1e9) * 90000) >>> 0,
    })
    if (lensStride !== batch.stride || lens.length < 4 * batch.count) {
      lens = Buffer.alloc(4 * Math.max(batch.count * 2, 64))
      lensStride = batch.stride
      for (let i = 0; i < lens.length / 4; i++) lens.writeInt32LE(batch.stride, 4 * i)
    }
    const queued = o.pacer.submitRaw(frameIndex, Math.round(deadline), Math.round(interval), batch.buffer, lens, batch.count, batch.stride)
    const p1 = now()
    lastPacketizeUs = (p1 - p0) / 1e3
    recent[recentAt++ % recent.length] = p1 - wake
    if (result.frames < keep) result.packetizeUs[result.frames] = lastPacketizeUs
    if (queued) {
      pending.set(frameIndex, {
        captureStartNs: frame.captureStartNs,
        captureUs: frame.captureUs,
        convertUs: frame.convertUs,
        encodeUs: frame.encodeUs,
        packetizeUs: lastPacketizeUs,
        idr: frame.idr,
        reencoded: !frame.fresh,
        clientLost: Atomics.load(flags, Flag.clientLost),
      })
      if (frame.fresh) counters[Counter.uniqueFrames]++
      else counters[Counter.reencodedFrames]++
      if (frame.idr) counters[Counter.idrFrames]++
      frameIndex++
      first = false
    } else {
      counters[Counter.droppedFrames]++
      // the client will miss this frame: the next one must be an IDR
      Atomics.store(flags, Flag.idr, 1)
    }
    result.frames++
    encodeWindow.push(frame.encodeUs + frame.convertUs)
    Atomics.store(flags, Flag.running, 1)

    for (const r of o.pacer.poll()) handle(r)
    const t = now()
    if (t - secondStart >= 1e9) {
      encodeWindow.sort((a, b) => a - b)
      counters[Counter.encodeP99Us] = encodeWindow.length > 0 ? encodeWindow[Math.min(encodeWindow.length - 1, Math.floor(encodeWindow.length * 0.99))] : 0
      counters[Counter.fpsLastSecond] = (secFrames * 1e9) / (t - secondStart)
      counters[Counter.bytesLastSecond] = (secBytes * 1e9) / (t - secondStart)
      counters[Counter.burstLastSecond] = secBurst
      encodeWindow.length = 0
      secFrames = 0
      secBytes = 0
      secBurst = 0
      secondStart = t
    }

    // next deadline: the next grid point, or the first one after now when this frame was late
    slot++
    const ready = p1
    if (ready > t0 + slot * interval) slot = Math.ceil((ready - t0) / interval)
    if (o.yieldEvery !== undefined) await o.yieldEvery()
  }
  o.pacer.drain(1000)
  for (const r of o.pacer.poll()) handle(r)
  return result
}
