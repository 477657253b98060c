/**
 * Streaming statistics for perf-report, in memory bounded independently of the log's length.
 *
 * Percentiles come from a log-bucketed histogram (the HDR-histogram idea): a value's bucket is
 * its binary exponent plus the top 10 bits of its mantissa, so every bucket spans a factor of
 * 1 + 2^-10 and a reported percentile (the bucket's midpoint, clamped to the observed min/max)
 * is within 2^-11 ≈ 0.05% (relative) of the exact order statistic, plus 2^-10 µs absolute for
 * values under 2^-10 µs, which all share one bucket. Percentile p is the nearest-rank order statistic:
 * the value at rank ceil(p/100 · n) of the n values sorted ascending. count, mean, min and max are
 * exact. Memory: 200 KB per stage (51,200 buckets covering 2^-10 .. 2^40 µs; larger values clamp
 * to the top bucket; a second table for negative values is made on the first negative value).
 */
import type {PerfLogHeader, PerfRecord} from './format.js'

const SUB_BITS = 10
const MIN_EXP = -10
const MAX_EXP = 40
const BUCKETS = (MAX_EXP - MIN_EXP) << SUB_BITS
const BASE = (1023 + MIN_EXP) << SUB_BITS
const SHIFT = 20 - SUB_BITS
const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0
const LO = 1 - HI

/** The documented bound: |reported − exact| ≤ RELATIVE_ERROR·|exact| + ABSOLUTE_ERROR_US. */
export const RELATIVE_ERROR = 2 ** -(SUB_BITS + 1)
export const ABSOLUTE_ERROR_US = 2 ** MIN_EXP

function bucketOf(magnitude: number): number {
  f64[0] = magnitude
  const idx = (u32[HI] >>> SHIFT) - BASE
  return idx < 0 ? -1 : idx >= BUCKETS ? BUCKETS - 1 : idx
}

function bucketMid(idx: number): number {
  u32[HI] = (((idx + BASE) << SHIFT) | (1 << (SHIFT - 1))) >>> 0
  u32[LO] = 0
  return f64[0]
}

export interface Distribution {
  count: number
  mean: number
  min: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

export class LogHistogram {
  private readonly pos = new Uint32Array(BUCKETS)
  private neg: Uint32Array | undefined
  private zero = 0
  count = 0
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = Number.NEGATIVE_INFINITY

  add(v: number): void {
    if (Number.isNaN(v)) return
    this.count++
    this.sum += v
    if (v < this.min) this.min = v
    if (v > this.max) this.max = v
    if (v > 0) {
      const b = bucketOf(v)
      if (b < 0) this.zero++
      else this.pos[b]++
    } else if (v < 0) {
      const b = bucketOf(-v)
      if (b < 0) this.zero++
      else (this.neg ??= new Uint32Array(BUCKETS))[b]++
    } else this.zero++
  }

  /** Nearest-rank quantile, q in [0, 1]. NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN
    // the small epsilon keeps a product such as 0.9990000000000001·n from rounding up a rank
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count - 1e-7)))
    if (rank === this.count) return this.max
    if (rank === 1) return this.min
    let seen = 0
    let value = Number.NaN
    found: {
      if (this.neg !== undefined) {
        for (let i = BUCKETS - 1; i >= 0; i--) {
          seen += this.neg[i]
          if (seen >= rank) {
            value = -bucketMid(i)
            break found
          }
        }
      }
      seen += this.zero
      if (seen >= rank) {
        value = 0
        break found
      }
      for (let i = 0; i < BUCKETS; i++) {
        seen += this.pos[i]
        if (seen >= rank) {
          value = bucketMid(i)
          break found
        }
      }
      value = this.max
    }
    return Math.min(this.max, Math.max(this.min, value))
  }

  distribution(): Distribution {
    const empty = this.count === 0
    return {
      count: this.count,
      mean: empty ? Number.NaN : this.sum / this.count,
      min: empty ? Number.NaN : this.min,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: empty ? Number.NaN : this.max,
    }
  }

  /** Counts in `n` equal bins over [lo, hi], and how many values fell below and above, for plotting. */
  bins(lo: number, hi: number, n: number): {counts: number[]; below: number; above: number} {
    const counts = new Array<number>(n).fill(0)
    let below = 0
    let above = 0
    if (this.count === 0 || !(hi > lo)) return {counts, below, above}
    const put = (value: number, c: number): void => {
      if (c === 0) return
      if (value < lo) below += c
      else if (value > hi) above += c
      else counts[Math.min(n - 1, Math.floor(((value - lo) / (hi - lo)) * n))] += c
    }
    // a bucket's midpoint can lie just past the observed min/max: such values belong at the extreme
    const clamp = (v: number): number => Math.min(this.max, Math.max(this.min, v))
    if (this.neg !== undefined) for (let i = 0; i < BUCKETS; i++) put(clamp(-bucketMid(i)), this.neg[i])
    put(clamp(0), this.zero)
    for (let i = 0; i < BUCKETS; i++) put(clamp(bucketMid(i)), this.pos[i])
    return {counts, below, above}
  }
}

export const STAGES = ['capture', 'convert', 'encode', 'packetize', 'send', 'total', 'slack'] as const
export type Stage = (typeof STAGES)[number]
export const STAGE_LABEL: Record<Stage, string> = {
  capture: 'capture',
  convert: 'convert',
  encode: 'encode',
  packetize: 'packetize+FEC',
  send: 'send',
  total: 'total',
  slack: 'deadline slack',
}

export function stageValue(r: PerfRecord, s: Stage): number {
  switch (s) {
    case 'capture':
      return r.captureUs
    case 'convert':
      return r.convertUs
    case 'encode':
      return r.encodeUs
    case 'packetize':
      return r.packetizeUs
    case 'send':
      return r.sendUs
    case 'total':
      return r.totalUs
    case 'slack':
      return r.slackUs
  }
}

/**
 * A per-stage time series reduced to at most `2·target` bins: a bin holds `width` consecutive
 * records (mean, min and max of each stage); when the bins fill up, neighbours merge and the width
 * doubles. Bounded memory whatever the log's length.
 */
export class StageSeries {
  width = 1
  bins = 0
  readonly t: Float64Array
  readonly n: Float64Array
  readonly sum: Float64Array[]
  readonly max: Float64Array[]
  readonly min: Float64Array[]

  constructor(readonly target = 600) {
    const cap = 2 * target
    this.t = new Float64Array(cap)
    this.n = new Float64Array(cap)
    this.sum = STAGES.map(() => new Float64Array(cap))
    this.max = STAGES.map(() => new Float64Array(cap).fill(Number.NEGATIVE_INFINITY))
    this.min = STAGES.map(() => new Float64Array(cap).fill(Number.POSITIVE_INFINITY))
  }

  add(r: PerfRecord): void {
    let b = this.bins - 1
    if (b < 0 || this.n[b] >= this.width) {
      if (this.bins === this.t.length) this.halve()
      b = this.bins++
      this.t[b] = r.captureTimeUs / 1e6
      this.n[b] = 0
    }
    this.n[b]++
    for (let s = 0; s < STAGES.length; s++) {
      const v = stageValue(r, STAGES[s])
      this.sum[s][b] += v
      if (v > this.max[s][b]) this.max[s][b] = v
      if (v < this.min[s][b]) this.min[s][b] = v
    }
  }

  private halve(): void {
    const half = this.bins >> 1
    for (let j = 0; j < half; j++) {
      const a = 2 * j
      const c = a + 1
      this.t[j] = this.t[a]
      this.n[j] = this.n[a] + this.n[c]
      for (let s = 0; s < STAGES.length; s++) {
        this.sum[s][j] = this.sum[s][a] + this.sum[s][c]
        this.max[s][j] = Math.max(this.max[s][a], this.max[s][c])
        this.min[s][j] = Math.min(this.min[s][a], this.min[s][c])
      }
    }
    for (let j = half; j < this.t.length; j++) {
      this.n[j] = 0
      for (let s = 0; s < STAGES.length; s++) {
        this.sum[s][j] = 0
        this.max[s][j] = Number.NEGATIVE_INFINITY
        this.min[s][j] = Number.POSITIVE_INFINITY
      }
    }
    this.bins = half
    this.width *= 2
  }

  /** Points of one stage: time (s), mean, min and max of the bin. */
  points(stage: Stage): {t: number; mean: number; min: number; max: number}[] {
    const s = STAGES.indexOf(stage)
    const out: {t: number; mean: number; min: number; max: number}[] = []
    for (let b = 0; b < this.bins; b++) if (this.n[b] > 0) out.push({t: this.t[b], mean: this.sum[s][b] / this.n[b], min: this.min[s][b], max: this.max[s][b]})
    return out
  }
}

export interface FrameKindCost {
  count: number
  meanBytes: number
  maxBytes: number
  meanEncodeUs: number
  maxEncodeUs: number
}

export interface PerfSummary {
  file: string
  header: PerfLogHeader
  /** the --since/--until window in seconds from the stream's t0 (null = open) */
  window: {sinceS: number | null; untilS: number | null}
  records: {valid: number; inWindow: number; corrupt: number; corruptBytes: number; tailBytes: number}
  frames: number
  uniqueFrames: number
  reencodedFrames: number
  lateFrames: number
  /** frame indices missing between consecutive records (records lost or never written) */
  frameIndexGaps: number
  idr: FrameKindCost
  p: FrameKindCost
  /** IDR ÷ P mean bytes and mean encode µs (null without both kinds) */
  idrOverP: {bytes: number | null; encodeUs: number | null}
  largestBurst: {packets: number; frameIndex: number | null}
  firstCaptureS: number | null
  lastCaptureS: number | null
  /** last − first capture time plus one frame interval at the header's fps */
  durationS: number
  fps: number
  mbps: number
  packets: number
  bytes: number
  /** frames the client reported lost within the window */
  clientFramesLost: number
  /** µs per stage: count, mean, min, p50, p90, p99, p999, max */
  stages: Record<Stage, Distribution>
  percentiles: string
}

class KindAcc {
  count = 0
  bytes = 0
  maxBytes = 0
  encode = 0
  maxEncode = 0
  add(r: PerfRecord): void {
    this.count++
    this.bytes += r.bytes
    if (r.bytes > this.maxBytes) this.maxBytes = r.bytes
    this.encode += r.encodeUs
    if (r.encodeUs > this.maxEncode) this.maxEncode = r.encodeUs
  }
  cost(): FrameKindCost {
    const n = this.count
    return {
      count: n,
      meanBytes: n === 0 ? Number.NaN : this.bytes / n,
      maxBytes: this.maxBytes,
      meanEncodeUs: n === 0 ? Number.NaN : this.encode / n,
      maxEncodeUs: this.maxEncode,
    }
  }
}

export const PERCENTILE_METHOD =
  'nearest-rank, from a log-bucketed histogram: within 0.05% (relative) of the exact order statistic; count, mean, min and max exact'

export interface AggregatorOptions {
  sinceS?: number
  untilS?: number
  seriesBins?: number
  /** IDR capture times kept for plotting (default 10,000) */
  maxIdrMarks?: number
}

/** Feeds on records one at a time; summary() at any point. */
export class PerfAggregator {
  readonly hist: Record<Stage, LogHistogram>
  readonly series: StageSeries
  readonly idrTimesS: number[] = []
  private readonly hists: LogHistogram[]
  private readonly sinceUs: number
  private readonly untilUs: number
  private readonly maxIdrMarks: number
  private frames = 0
  private unique = 0
  private reencoded = 0
  private late = 0
  private gaps = 0
  private prevIndex = -1
  private readonly idr = new KindAcc()
  private readonly p = new KindAcc()
  private burst = 0
  private burstFrame: number | null = null
  private first = Number.NaN
  private last = Number.NaN
  private packets = 0
  private bytes = 0
  private lostFirst = -1
  private lostLast = 0

  constructor(private readonly options: AggregatorOptions = {}) {
    this.hist = Object.fromEntries(STAGES.map((s) => [s, new LogHistogram()])) as Record<Stage, LogHistogram>
    this.hists = STAGES.map((s) => this.hist[s])
    this.series = new StageSeries(options.seriesBins ?? 600)
    this.sinceUs = options.sinceS === undefined ? Number.NEGATIVE_INFINITY : options.sinceS * 1e6
    this.untilUs = options.untilS === undefined ? Number.POSITIVE_INFINITY : options.untilS * 1e6
    this.maxIdrMarks = options.maxIdrMarks ?? 10_000
  }

  add(r: PerfRecord): void {
    const t = r.captureTimeUs
    if (!(t >= this.sinceUs && t < this.untilUs)) return
    this.frames++
    if (this.prevIndex >= 0 && r.frameIndex > this.prevIndex + 1) this.gaps += r.frameIndex - this.prevIndex - 1
    this.prevIndex = r.frameIndex
    if (r.reencoded) this.reencoded++
    else this.unique++
    if (r.slackUs < 0) this.late++
    if (r.idr) {
      this.idr.add(r)
      if (this.idrTimesS.length < this.maxIdrMarks) this.idrTimesS.push(t / 1e6)
    } else this.p.add(r)
    if (r.burstPackets > this.burst) {
      this.burst = r.burstPackets
      this.burstFrame = r.frameIndex
    }
    if (this.frames === 1) this.first = t
    this.last = t
    this.packets += r.packets
    this.bytes += r.bytes
    if (this.lostFirst < 0) this.lostFirst = r.clientFramesLost
    this.lostLast = r.clientFramesLost
    const h = this.hists
    h[0].add(r.captureUs)
    h[1].add(r.convertUs)
    h[2].add(r.encodeUs)
    h[3].add(r.packetizeUs)
    h[4].add(r.sendUs)
    h[5].add(r.totalUs)
    h[6].add(r.slackUs)
    this.series.add(r)
  }

  summary(file: string, header: PerfLogHeader, records: {valid: number; corrupt: number; corruptBytes: number; tailBytes: number}): PerfSummary {
    const fps = typeof header.fps === 'number' && header.fps > 0 ? header.fps : 0
    const span = this.frames > 0 ? (this.last - this.first) / 1e6 : 0
    const durationS = this.frames === 0 ? 0 : span + (fps > 0 ? 1 / fps : 0)
    const idr = this.idr.cost()
    const p = this.p.cost()
    const ratio = (a: number, b: number): number | null => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null)
    return {
      file,
      header,
      window: {sinceS: this.options.sinceS ?? null, untilS: this.options.untilS ?? null},
      records: {...records, inWindow: this.frames},
      frames: this.frames,
      uniqueFrames: this.unique,
      reencodedFrames: this.reencoded,
      lateFrames: this.late,
      frameIndexGaps: this.gaps,
      idr,
      p,
      idrOverP: {bytes: ratio(idr.meanBytes, p.meanBytes), encodeUs: ratio(idr.meanEncodeUs, p.meanEncodeUs)},
      largestBurst: {packets: this.burst, frameIndex: this.burstFrame},
      firstCaptureS: this.frames > 0 ? this.first / 1e6 : null,
      lastCaptureS: this.frames > 0 ? this.last / 1e6 : null,
      durationS,
      fps: durationS > 0 ? this.frames / durationS : 0,
      mbps: durationS > 0 ? (this.bytes * 8) / durationS / 1e6 : 0,
      packets: this.packets,
      bytes: this.bytes,
      clientFramesLost: this.lostFirst < 0 ? 0 : Math.max(0, this.lostLast - this.lostFirst),
      stages: Object.fromEntries(STAGES.map((s) => [s, this.hist[s].distribution()])) as Record<Stage, Distribution>,
      percentiles: PERCENTILE_METHOD,
    }
  }
}
