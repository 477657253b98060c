/**
 * Realistic synthetic frame records for tests and the bench (not used by serve): a 240 fps
 * stream whose stage times follow skewed distributions with occasional spikes, an IDR at the
 * start and on a few later requests, re-encoded frames when capture stalls, late frames when
 * encode spikes past the frame interval. Deterministic for a given seed.
 */
import type {PerfLogHeader, PerfRecord} from './format.js'
import {emptyRecord} from './format.js'

export function syntheticHeader(overrides: Partial<PerfLogHeader> = {}): PerfLogHeader {
  return {width: 2560, height: 1440, fps: 240, codec: 'hevc', bitrateKbps: 80_000, encoder: 'hevc_nvenc', startTimeMs: Date.UTC(2026, 10, 24, 12, 0, 0), ...overrides}
}

/** xorshift32 in [0, 1). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 4294967296
  }
}

export interface SyntheticOptions {
  fps?: number
  seed?: number
  /** frame indices that are IDRs besides frame 0 */
  idrEvery?: number
  /** share of frames re-encoded (capture had nothing new) */
  reencodeShare?: number
}

/** An endless generator of records; the yielded object is reused. */
export function* syntheticRecords(options: SyntheticOptions = {}): Generator<PerfRecord> {
  const fps = options.fps ?? 240
  const rand = rng(options.seed ?? 1)
  const idrEvery = options.idrEvery ?? 2000
  const reencodeShare = options.reencodeShare ?? 0.03
  const intervalUs = 1e6 / fps
  const r = emptyRecord()
  // lognormal-ish: exp of a sum of uniforms
  const skew = (median: number, spread: number): number => median * Math.exp(spread * (rand() + rand() + rand() - 1.5))
  let lost = 0
  for (let i = 0; ; i++) {
    const idr = i === 0 || (idrEvery > 0 && i % idrEvery === 0)
    const reencoded = !idr && rand() < reencodeShare
    r.frameIndex = i
    r.captureTimeUs = i * intervalUs + skew(40, 0.5)
    r.captureUs = reencoded ? skew(3, 0.3) : skew(180, 0.6)
    r.convertUs = skew(220, 0.4)
    r.encodeUs = (idr ? skew(2600, 0.3) : skew(900, 0.5)) * (rand() < 0.002 ? 4 : 1)
    r.bytes = Math.round(idr ? skew(300_000, 0.2) : skew(40_000, 0.6))
    r.packets = Math.ceil(r.bytes / 1392) + Math.max(2, Math.ceil((Math.ceil(r.bytes / 1392) * 20) / 100))
    r.packetizeUs = 8 + r.packets * 0.35 + skew(4, 0.5)
    r.sendUs = 5 + r.packets * 0.9 + skew(6, 0.7)
    r.totalUs = r.captureUs + r.convertUs + r.encodeUs + r.packetizeUs + r.sendUs + skew(15, 0.5)
    r.slackUs = intervalUs - r.totalUs - skew(60, 0.5)
    r.burstPackets = Math.min(r.packets, idr ? 256 : 64)
    r.idr = idr
    r.reencoded = reencoded
    if (rand() < 0.001) lost++
    r.clientFramesLost = lost
    yield r
  }
}
