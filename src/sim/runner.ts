/**
 * The fec-sim runner: a synthetic encoded stream goes through the real video packetizer (and the
 * real Reed-Solomon encoder in the shim), a loss model drops packets, and the client-side
 * depacketizer (real RS decoder) reassembles what it can; every delivered frame is compared
 * byte for byte with what was sent.
 *
 * Stream model: every frame's size comes from {@link frameSizes}; the first frame is an IDR, then
 * IDRs every `idrEvery` frames (0 = never again: infinite GOP), plus one IDR answering each loss the
 * client reports, `idrLatencyFrames` frames after the report (the request's round trip). After a
 * lost frame every following frame is undecodable for the client until an IDR arrives.
 */
import {planFrame, type VideoFecParams} from '../media/packetizer/format.js'
import {VideoPacketizer} from '../media/packetizer/video.js'
import {VideoDepacketizer} from '../media/depacketizer/video.js'
import {frameSurvival} from './analytic.js'
import type {LossModel} from './loss.js'
import {Rng, XorShift32} from './random.js'

export interface StreamShape {
  frames: number
  fps: number
  /** mean bytes per frame (bitrate / 8 / fps) */
  meanFrameBytes: number
  /** every frame exactly meanFrameBytes (IDRs too): --frame-bytes */
  fixedSize: boolean
  /** 0 = infinite GOP */
  idrEvery: number
  /** frames from the one being sent when the client notices a loss to the IDR answering it (>= 1) */
  idrLatencyFrames: number
}

export interface FecSimOptions extends VideoFecParams {
  stream: StreamShape
  loss: LossModel
  seed: number
  /** called every few hundred frames with the frames done */
  onProgress?: (framesDone: number) => void
}

export interface FecSimResult {
  model: string
  framesSent: number
  /** delivered with no packet missing */
  framesIntact: number
  /** delivered after rebuilding at least one data packet from parity */
  framesRebuilt: number
  framesLost: number
  /** delivered but dropped by the client because a reference was lost (waiting for an IDR) */
  framesUndecodable: number
  idrFrames: number
  idrRequests: number
  packetsSent: number
  packetsLost: number
  dataPacketsSent: number
  parityPacketsSent: number
  /** packetsLost / packetsSent */
  linkLoss: number
  /** framesLost / framesSent */
  residualFrameLoss: number
  /** (framesLost + framesUndecodable) / framesSent */
  unusableFrameShare: number
  longestLossBurst: number
  /** delivered frames whose bytes differed from those sent (must be 0) */
  corruptDeliveries: number
  /** uniform loss only: the binomial-tail expectation of framesLost for the frames actually sent */
  expectedFramesLost?: number
  /** its standard deviation */
  expectedFramesLostSd?: number
  /** per-second counts, for plots */
  timeline: {bucketSeconds: number; lost: number[]; undecodable: number[]; idrRequests: number[]}
  /** indices of the first 1000 lost frames */
  lostFrameIndices: number[]
}

/** The frame-size model: IDR ≈ 4 × a P-frame, P-frames ±30 % around their mean. */
export const IDR_SIZE_FACTOR = 4

export function frameSizes(shape: StreamShape): {idrBytes: number; pMeanBytes: number} {
  if (shape.fixedSize) return {idrBytes: shape.meanFrameBytes, pMeanBytes: shape.meanFrameBytes}
  const n = shape.idrEvery
  const pMean = n > 0 ? (shape.meanFrameBytes * n) / (IDR_SIZE_FACTOR + n - 1) : shape.meanFrameBytes
  return {idrBytes: Math.round(IDR_SIZE_FACTOR * pMean), pMeanBytes: pMean}
}

export function runFecSim(opts: FecSimOptions): FecSimResult {
  const {stream, loss} = opts
  const params: VideoFecParams = {packetSize: opts.packetSize, fecPercentage: opts.fecPercentage, minParity: opts.minParity}
  const packetizer = new VideoPacketizer(params)
  const client = new VideoDepacketizer({packetSize: opts.packetSize, firstFrameIndex: 1})
  const rng = new Rng(opts.seed ^ 0x5eed)
  const {idrBytes, pMeanBytes} = frameSizes(stream)
  const maxBytes = Math.max(idrBytes, Math.ceil(pMeanBytes * 1.3)) + 16
  // frame contents: windows into one seeded pool, so every frame's bytes differ
  const pool = Buffer.alloc(maxBytes + 65536)
  new XorShift32((opts.seed >>> 0) || 1).fill(pool)

  const r: FecSimResult = {
    model: loss.label,
    framesSent: 0,
    framesIntact: 0,
    framesRebuilt: 0,
    framesLost: 0,
    framesUndecodable: 0,
    idrFrames: 0,
    idrRequests: 0,
    packetsSent: 0,
    packetsLost: 0,
    dataPacketsSent: 0,
    parityPacketsSent: 0,
    linkLoss: 0,
    residualFrameLoss: 0,
    unusableFrameShare: 0,
    longestLossBurst: 0,
    corruptDeliveries: 0,
    timeline: {bucketSeconds: 1, lost: [], undecodable: [], idrRequests: []},
    lostFrameIndices: [],
  }
  const uniformP = (loss as {p?: number}).p
  let expLost = 0
  let expVar = 0
  let burst = 0
  let broken = false // the client lost a reference and waits for an IDR
  let pendingIdrAt = -1 // frame index at which the host will send the requested IDR
  let sending = 0
  const bucketOf = (frameIndex: number): number => Math.floor((frameIndex - 1) / Math.max(1, stream.fps))
  const bump = (arr: number[], frameIndex: number): void => {
    const b = bucketOf(frameIndex)
    while (arr.length <= b) arr.push(0)
    arr[b]++
  }
  const sizes = new Map<number, {offset: number; length: number; idr: boolean}>()

  const onEvents = (events: ReturnType<VideoDepacketizer['push']>): void => {
    for (const e of events) {
      const sent = sizes.get(e.frameIndex)
      sizes.delete(e.frameIndex)
      if (e.kind === 'lost') {
        r.framesLost++
        bump(r.timeline.lost, e.frameIndex)
        if (r.lostFrameIndices.length < 1000) r.lostFrameIndices.push(e.frameIndex)
        broken = true
        if (pendingIdrAt < 0) {
          // the client asks for an IDR when it notices; the host answers a round trip later
          r.idrRequests++
          bump(r.timeline.idrRequests, e.frameIndex)
          pendingIdrAt = sending + stream.idrLatencyFrames
        }
        continue
      }
      if (sent === undefined || !e.data.equals(pool.subarray(sent.offset, sent.offset + sent.length))) r.corruptDeliveries++
      if (e.dataRebuilt > 0) r.framesRebuilt++
      else r.framesIntact++
      if (sent?.idr === true) broken = false
      else if (broken) {
        r.framesUndecodable++
        bump(r.timeline.undecodable, e.frameIndex)
      }
    }
  }

  for (let f = 1; f <= stream.frames; f++) {
    sending = f
    const idr = f === 1 || (stream.idrEvery > 0 && (f - 1) % stream.idrEvery === 0) || (pendingIdrAt >= 0 && f >= pendingIdrAt)
    if (idr) {
      pendingIdrAt = -1
      r.idrFrames++
    }
    let len = idr ? idrBytes : stream.fixedSize ? pMeanBytes : pMeanBytes * (0.7 + 0.6 * rng.next())
    len = Math.max(1, Math.round(len))
    const offset = (f * 7919) % 65536
    sizes.set(f, {offset, length: len, idr})
    const batch = packetizer.packetize({data: pool.subarray(offset, offset + len), frameIndex: f, frameType: idr ? 2 : 1, rtpTimestamp: Math.round((f * 90000) / stream.fps)})
    r.framesSent++
    r.dataPacketsSent += batch.dataPackets
    r.parityPacketsSent += batch.parityPackets
    if (uniformP !== undefined) {
      const s = frameSurvival(batch.blocks, uniformP)
      expLost += 1 - s
      expVar += s * (1 - s)
    }
    const T = batch.stride
    for (let i = 0; i < batch.count; i++) {
      r.packetsSent++
      if (loss.lost()) {
        r.packetsLost++
        burst++
        if (burst > r.longestLossBurst) r.longestLossBurst = burst
        continue
      }
      burst = 0
      const ev = client.push(batch.buffer.subarray(i * T, (i + 1) * T))
      if (ev.length > 0) onEvents(ev)
    }
    if (opts.onProgress !== undefined && f % 256 === 0) opts.onProgress(f)
  }
  onEvents(client.flush())
  // frames whose every packet was lost at the very end never produce an event
  for (const [frameIndex] of sizes) {
    r.framesLost++
    bump(r.timeline.lost, frameIndex)
    if (r.lostFrameIndices.length < 1000) r.lostFrameIndices.push(frameIndex)
  }
  const buckets = bucketOf(stream.frames) + 1
  for (const arr of [r.timeline.lost, r.timeline.undecodable, r.timeline.idrRequests]) while (arr.length < buckets) arr.push(0)
  r.linkLoss = r.packetsSent > 0 ? r.packetsLost / r.packetsSent : 0
  r.residualFrameLoss = r.framesSent > 0 ? r.framesLost / r.framesSent : 0
  r.unusableFrameShare = r.framesSent > 0 ? (r.framesLost + r.framesUndecodable) / r.framesSent : 0
  if (uniformP !== undefined) {
    r.expectedFramesLost = expLost
    r.expectedFramesLostSd = Math.sqrt(expVar)
  }
  return r
}

/** Checks a stream shape against the packetizer: throws FecParamError for impossible frames. */
export function checkStream(shape: StreamShape, params: VideoFecParams): void {
  const {idrBytes, pMeanBytes} = frameSizes(shape)
  const P = params.packetSize - 16
  const maxBytes = Math.max(idrBytes, Math.ceil(pMeanBytes * 1.3))
  planFrame(maxBytes, params)
  // every packet count a frame of this stream can have: each gives its own blocks
  for (let d = 1; d <= Math.ceil((maxBytes + 8) / P); d++) planFrame(d * P - 8, params)
}
