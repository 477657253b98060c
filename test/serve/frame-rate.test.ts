/**
 * The client's exact display rate and the RTP clock, through the test client: a client on a
 * 119.88 Hz display (maxFPS 120, clientRefreshRateX100 11988) gets the grid at 119.88 fps, one on
 * a 120 Hz display at 120; the first RTP timestamp is small and non-negative, and consecutive
 * ones advance by 90000/fps ± 1 tick per grid slot.
 *
 * No wall-clock rate assertion: the grid's period is measured on the monotonic clock the host and
 * the client share (the client's arrival time minus the host latency the frame header carries =
 * when the host captured it) by a least-squares fit over every frame, so a loaded box that
 * delays single frames, or makes the host skip slots (it keeps the grid and says so in the RTP
 * timestamps), changes nothing. The 60 s frame count follows from that period.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {streamRate} from '../../src/protocol/stream-config.js'
import {sleep} from '../helpers/index.js'
import {startServeSession, type ServeSession} from './helpers.js'

let session: ServeSession | undefined
afterEach(async () => {
  await session?.close()
  session = undefined
})

const SECONDS = 8

async function measure(refreshRateX100: number) {
  session = await startServeSession({announce: {width: 640, height: 360, fps: 120, codec: 0, encryptionEnabled: 1, refreshRateX100}, media: {audio: 'off'}, decode: false})
  await sleep(SECONDS * 1000)
  const frames = session.video.frames.slice()
  await session.close()
  session = undefined
  return frames
}

describe('frame grid at the client display rate', () => {
  for (const [x100, expected60] of [
    [11988, 7193],
    [12000, 7200],
  ] as const) {
    it(`a ${x100 / 100} Hz client (maxFPS 120): RTP +90000/${x100 / 100} per slot from a small first timestamp, ${expected60} ± 1 frames in 60 s of the monotonic clock`, async () => {
      const frames = await measure(x100)
      expect(frames.length).toBeGreaterThan(SECONDS * 30)
      expect(frames.map((f) => f.frameIndex)).toEqual(frames.map((_, i) => i + 1))
      // the first timestamp: small and non-negative as a signed 32-bit value (not 2^32 − 61)
      const first = frames[0].rtpTimestamp
      expect(first).toBeLessThan(90000)
      expect(first | 0).toBeGreaterThanOrEqual(0)
      // consecutive timestamps: k grid slots apart (k > 1 only where the host skipped slots),
      // k × 90000/fps within one tick; k counted at the nominal 750 ticks, which the 0.75-tick
      // difference cannot mislead for any gap of fewer than 500 slots
      const perSlot = 9_000_000 / x100
      const slot: number[] = [0]
      let skipped = 0
      for (let i = 1; i < frames.length; i++) {
        const d = (frames[i].rtpTimestamp - frames[i - 1].rtpTimestamp) >>> 0
        const k = Math.round(d / 750)
        expect(k, `frame ${frames[i].frameIndex}`).toBeGreaterThanOrEqual(1)
        expect(Math.abs(d - k * perSlot), `frame ${frames[i].frameIndex}: ${d} ticks for ${k} slots`).toBeLessThanOrEqual(1)
        skipped += k - 1
        slot.push(slot[i - 1] + k)
      }
      // when the host captured each frame, on the shared monotonic clock
      const t = frames.map((f) => Number(f.arrivalNs) - f.latencyTenthMs * 1e5)
      const n = slot.length
      const mx = slot.reduce((a, b) => a + b, 0) / n
      const my = t.reduce((a, b) => a + b, 0) / n
      let sxy = 0
      let sxx = 0
      for (let i = 0; i < n; i++) {
        sxy += (slot[i] - mx) * (t[i] - my)
        sxx += (slot[i] - mx) ** 2
      }
      const periodNs = sxy / sxx
      // grid slots in 60 s: 60 s / period (7192.8 at 119.88 Hz: frames 0..7192 start in it)
      const per60 = 60e9 / periodNs
      process.stderr.write(`${x100 / 100} Hz client: ${frames.length} frames, ${skipped} slots skipped, grid period ${(periodNs / 1e3).toFixed(3)} µs → ${per60.toFixed(2)} slots in 60 s\n`)
      expect(Math.abs(per60 - (60 * x100) / 100)).toBeLessThan(1)
      expect(Math.abs(Math.ceil(per60) - expected60)).toBeLessThanOrEqual(1)
    }, 60_000)
  }
})

describe('the grid rate (rtsp.md §3.4: the refresh rate counts only within 1 % of maxFPS)', () => {
  it('59.94, 119.88, 143.86 and 239.76 Hz displays get their exact rate; 0, a far-off rate and the cap fall back to maxFPS or the cap', () => {
    expect(streamRate({fps: 60, clientRefreshRateX100: 5994})).toBe(59.94)
    expect(streamRate({fps: 120, clientRefreshRateX100: 11988})).toBe(119.88)
    expect(streamRate({fps: 144, clientRefreshRateX100: 14386})).toBe(143.86)
    expect(streamRate({fps: 240, clientRefreshRateX100: 23976})).toBe(239.76)
    expect(streamRate({fps: 60, clientRefreshRateX100: 0})).toBe(60)
    expect(streamRate({fps: 60})).toBe(60)
    // 5 % off: a display rate that is not the stream's (a 50 Hz display asking for 60 fps … 57 Hz)
    expect(streamRate({fps: 60, clientRefreshRateX100: 5700})).toBe(60)
    expect(streamRate({fps: 60, clientRefreshRateX100: 6061})).toBe(60)
    expect(streamRate({fps: 144, clientRefreshRateX100: 14386}, 120)).toBe(120)
  })
})
