/**
 * fec-sim's runner: checked against the closed-form binomial tail for uniform loss, the field
 * result (2 % loss, 20 % FEC, floor 2, 10,000 frames of 20 Mbit/s at 60 fps → nothing lost), and
 * its loss models.
 */
import {describe, expect, it} from 'vitest'

import {GilbertElliottLoss, parseTrace, TraceError, TraceLoss, UniformLoss} from '../../src/sim/loss.js'
import {Rng} from '../../src/sim/random.js'
import {runFecSim, type StreamShape} from '../../src/sim/runner.js'

const base = {packetSize: 1392, fecPercentage: 20, minParity: 2}

/** P(Binomial(n, p) > t), by direct summation (independent of src/sim/analytic.ts). */
function tail(n: number, p: number, t: number): number {
  let c = 1
  let below = 0
  for (let i = 0; i <= t; i++) {
    below += c * p ** i * (1 - p) ** (n - i)
    c = (c * (n - i)) / (i + 1)
  }
  return 1 - below
}

describe('fec-sim against the binomial tail (uniform loss)', () => {
  // 20,000-byte frames: 20,008 payload bytes / 1,376 per packet = 15 data packets, ceil(15 × 0.2) = 3 parity
  const shape: StreamShape = {frames: 6000, fps: 60, meanFrameBytes: 20000, fixedSize: true, idrEvery: 1, idrLatencyFrames: 1}
  for (const p of [0.05, 0.08, 0.12]) {
    it(`p = ${p}: simulated frame loss within 4.5 σ of 6000 × P(Bin(18, p) > 3)`, () => {
      const r = runFecSim({...base, stream: shape, loss: new UniformLoss(p, new Rng(7)), seed: 7})
      const q = tail(18, p, 3)
      const mean = shape.frames * q
      const sd = Math.sqrt(shape.frames * q * (1 - q))
      expect(r.packetsSent).toBe(shape.frames * 18)
      expect(Math.abs(r.framesLost - mean), `lost ${r.framesLost}, expected ${mean.toFixed(1)} ± ${sd.toFixed(1)}`).toBeLessThanOrEqual(4.5 * sd + 1)
      expect(Math.abs(r.linkLoss - p)).toBeLessThan(0.01)
      expect(r.corruptDeliveries).toBe(0)
      expect(r.framesIntact + r.framesRebuilt + r.framesLost).toBe(shape.frames)
      expect(r.framesRebuilt).toBeGreaterThan(0)
    })
  }

  it('a wrong decoder would be caught: with 0 % parity the loss matches P(any of 15 lost)', () => {
    const r = runFecSim({...base, fecPercentage: 0, minParity: 0, stream: {...shape, frames: 3000}, loss: new UniformLoss(0.02, new Rng(3)), seed: 3})
    const q = 1 - 0.98 ** 15
    const sd = Math.sqrt(3000 * q * (1 - q))
    expect(Math.abs(r.framesLost - 3000 * q)).toBeLessThanOrEqual(4.5 * sd)
    expect(r.framesRebuilt).toBe(0)
  })
})

describe('the field result', () => {
  const stream: StreamShape = {frames: 10_000, fps: 60, meanFrameBytes: 20_000_000 / 8 / 60, fixedSize: false, idrEvery: 0, idrLatencyFrames: 1}

  it('2 % uniform loss, 20 % FEC, floor 2, 10,000 frames of 20 Mbit/s at 60 fps: no frame lost', () => {
    const r = runFecSim({...base, stream, loss: new UniformLoss(0.02, new Rng(1)), seed: 1})
    expect(r.framesSent).toBe(10_000)
    expect(r.framesLost).toBe(0)
    expect(r.framesUndecodable).toBe(0)
    expect(r.framesRebuilt).toBeGreaterThan(1000)
    expect(r.corruptDeliveries).toBe(0)
    expect(r.linkLoss).toBeGreaterThan(0.018)
    expect(r.linkLoss).toBeLessThan(0.022)
  })

  it('8 % uniform loss: losses are reported, with IDR requests and undecodable frames, and nothing crashes', () => {
    const r = runFecSim({...base, stream: {...stream, frames: 3000}, loss: new UniformLoss(0.08, new Rng(1)), seed: 1})
    expect(r.framesLost).toBeGreaterThan(0)
    expect(r.idrRequests).toBeGreaterThan(0)
    expect(r.idrFrames).toBeGreaterThan(1)
    expect(r.framesUndecodable).toBeGreaterThan(0)
    expect(r.corruptDeliveries).toBe(0)
    expect(r.residualFrameLoss).toBeCloseTo(r.framesLost / 3000, 10)
    expect(r.timeline.lost.reduce((a, b) => a + b, 0)).toBe(r.framesLost)
  })
})

describe('loss models', () => {
  it('Gilbert–Elliott gives its stationary loss rate and bursts longer than uniform loss at the same rate', () => {
    const ge = new GilbertElliottLoss({pGB: 0.01, pBG: 0.2, lossGood: 0, lossBad: 0.5}, new Rng(5))
    let lost = 0
    let runs = 0
    let prev = false
    const n = 400_000
    for (let i = 0; i < n; i++) {
      const l = ge.lost()
      if (l) lost++
      if (l && !prev) runs++
      prev = l
    }
    const mean = (0.01 / 0.21) * 0.5
    expect(Math.abs(lost / n - mean)).toBeLessThan(0.004)
    // mean loss-run length: uniform at this rate gives 1/(1-p) ≈ 1.02
    expect(lost / runs).toBeGreaterThan(1.3)
  })

  it('parses a trace and replays it in a loop', () => {
    const t = parseTrace('# a comment\n0 0 1\n0011 # trailing\n\n1\n')
    expect([...t]).toEqual([0, 0, 1, 0, 0, 1, 1, 1])
    const m = new TraceLoss(t)
    const seen = Array.from({length: 16}, () => (m.lost() ? 1 : 0))
    expect(seen).toEqual([...t, ...t])
  })

  it('rejects a malformed trace with the line number', () => {
    expect(() => parseTrace('0 1\n0 2 1\n')).toThrow(TraceError)
    expect(() => parseTrace('0 1\n0 2 1\n')).toThrow(/line 2/)
    expect(() => parseTrace('# nothing\n')).toThrow(/no 0\/1 entries/)
  })

  it('a trace that loses every third packet: frames with k + 2 parity survive, the counts are exact', () => {
    const shape: StreamShape = {frames: 300, fps: 60, meanFrameBytes: 3000, fixedSize: true, idrEvery: 1, idrLatencyFrames: 1}
    // 3000-byte frames: 3 data + 2 parity = 5 packets; every 3rd packet lost → at most 2 per frame
    const r = runFecSim({...base, stream: shape, loss: new TraceLoss(parseTrace('0 0 1')), seed: 2})
    expect(r.packetsSent).toBe(1500)
    expect(r.packetsLost).toBe(500)
    expect(r.framesLost).toBe(0)
    expect(r.longestLossBurst).toBe(1)
    const r2 = runFecSim({...base, stream: shape, loss: new TraceLoss(parseTrace('1 1 1 0 0')), seed: 2})
    expect(r2.framesLost).toBe(300)
    expect(r2.longestLossBurst).toBe(3)
  })
})
