/**
 * The frame loop's clock: one absolute grid (t0 + n/fps) in both modes — capture on it and send
 * when ready (default), or hold each frame to it; a frame that is late goes out at once and the
 * next one takes the next grid point — no drift, no burst of catch-up frames; the RTP timestamp
 * is the grid point on the 90 kHz clock; an IDR request set in the shared flags reaches the very
 * next frame.
 */
import {describe, expect, it} from 'vitest'

import {NativeVideoPacketizer} from '../../src/media/packetizer/index.js'
import {Flag, SHARED_BYTES, sharedViews} from '../../src/media/stream/shared.js'
import {runVideoLoop, type FrameProducer, type ProducedFrame, type SendAt} from '../../src/media/stream/video-loop.js'
import {Pacer, type PacerRecord, UdpSocket} from '../../src/native/net.js'

const now = (): number => Number(process.hrtime.bigint())

class SlowOnce implements FrameProducer {
  n = 0
  readonly idrAt: number[] = []
  constructor(
    private readonly slowFrame: number,
    private readonly slowMs: number,
    private readonly onFrame?: (n: number) => void,
  ) {}
  next(forceIdr: boolean): ProducedFrame {
    const start = now()
    this.n++
    this.onFrame?.(this.n)
    if (forceIdr) this.idrAt.push(this.n)
    if (this.n === this.slowFrame) while (now() - start < this.slowMs * 1e6) {}
    const data = Buffer.alloc(3000, this.n & 0xff)
    return {data, length: data.length, idr: forceIdr, captureStartNs: start, captureUs: 0, convertUs: 0, encodeUs: 0, fresh: true}
  }
}

async function loop(fps: number, producer: FrameProducer, frames: number, flags = sharedViews(new SharedArrayBuffer(SHARED_BYTES)), sendAt: SendAt = 'ready') {
  const rx = UdpSocket.open('127.0.0.1', 0)
  const tx = UdpSocket.open('127.0.0.1', 0)
  tx.setPeer('127.0.0.1', rx.port)
  const pacer = new Pacer(tx, {mode: 'line'})
  const records: PacerRecord[] = []
  const orig = pacer.pollEach.bind(pacer)
  pacer.pollEach = (onRecord) =>
    orig((r) => {
      records.push({...r})
      onRecord(r)
    })
  const result = await runVideoLoop({
    fps,
    producer,
    packetizer: new NativeVideoPacketizer({packetSize: 1392, fecPercentage: 20, minParity: 2}),
    sendAt,
    pacer,
    flags: flags.flags,
    counters: flags.counters,
    maxFrames: frames,
  })
  pacer.close()
  tx.close()
  rx.close()
  return {result, records}
}

describe.each(['ready', 'deadline'] as const)('frame loop clock, send at %s', (sendAt) => {
  it('keeps the grid across a late frame, without catch-up bursts; RTP timestamps are the grid points', async () => {
    const fps = 50
    const interval = 1e9 / fps
    // frame 10 takes 70 ms: 3.5 intervals
    const {result, records} = await loop(fps, new SlowOnce(10, 70), 30, undefined, sendAt)
    expect(records).toHaveLength(30)
    const t0 = records[0].deadlineNs
    for (const r of records) {
      // every deadline is a grid point t0 + n/fps
      const n = (r.deadlineNs - t0) / interval
      expect(Math.abs(n - Math.round(n))).toBeLessThan(0.01)
    }
    // (a busy box may make another frame late too; frame 10 is late by construction)
    expect(result.slackUs[9]).toBeLessThan(0)
    expect(result.lateFrames).toBeGreaterThanOrEqual(1)
    // RTP timestamps: the grid point on the 90 kHz clock, 0 for the first frame
    expect(result.rtpTimestamps[0]).toBe(0)
    records.forEach((r, i) => expect(result.rtpTimestamps[i]).toBe(Math.round(((r.deadlineNs - t0) / interval) * (90000 / fps))))
    for (const r of records) {
      if (sendAt === 'ready') {
        // captured at the grid point, handed over after it, sent without waiting for anything
        expect(r.submitNs).toBeGreaterThanOrEqual(r.deadlineNs)
        expect(r.startNs).toBeGreaterThanOrEqual(r.submitNs)
      } else {
        // held to the grid point
        expect(r.startNs).toBeGreaterThanOrEqual(r.deadlineNs)
      }
    }
    // never two frames closer than one interval: no catch-up burst anywhere
    for (let i = 1; i < records.length; i++) expect(records[i].deadlineNs - records[i - 1].deadlineNs).toBeGreaterThan(interval * 0.99)
    // after the late frame: the next deadline is the first grid point after it was ready, and
    // from there frames leave one interval apart again (no burst of catch-up frames)
    const after = records.filter((r) => r.frameId > 10)
    expect(after[0].deadlineNs).toBeGreaterThan(records[9].submitNs)
    expect(after[0].deadlineNs - records[9].submitNs).toBeLessThanOrEqual(interval)
    // the grid skipped the slots the slow frame overran
    expect((after[0].deadlineNs - records[9].deadlineNs) / interval).toBeGreaterThanOrEqual(3)
  }, 20_000)

  it('an IDR request in the shared flags reaches the very next frame', async () => {
    const shared = sharedViews(new SharedArrayBuffer(SHARED_BYTES))
    const producer = new SlowOnce(0, 0, (n) => {
      // the request arrives while frame 7 is being made: frame 8 must be the IDR
      if (n === 7) Atomics.store(shared.flags, Flag.idr, 1)
    })
    await loop(120, producer, 12, shared, sendAt)
    expect(producer.idrAt).toEqual([1, 8])
  }, 20_000)
})

describe('a fractional rate', () => {
  it('119.88 fps: grid points 1/119.88 s apart, RTP timestamps advancing 750 or 751 ticks (750.75 on average)', async () => {
    const fps = 119.88
    const {result, records} = await loop(fps, new SlowOnce(0, 0), 40)
    const t0 = records[0].deadlineNs
    const slots = records.map((r) => Math.round(((r.deadlineNs - t0) * fps) / 1e9))
    records.forEach((r, i) => expect(Math.abs(r.deadlineNs - t0 - (slots[i] * 1e9) / fps)).toBeLessThan(1000))
    slots.forEach((n, i) => expect(result.rtpTimestamps[i]).toBe(Math.round((n * 9_000_000) / 11988)))
    for (let i = 1; i < slots.length; i++) {
      const d = result.rtpTimestamps[i] - result.rtpTimestamps[i - 1]
      const k = slots[i] - slots[i - 1]
      expect(Math.abs(d - k * 750.75)).toBeLessThanOrEqual(1)
    }
  }, 20_000)
})
