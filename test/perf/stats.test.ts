import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import type {PerfRecord} from '../../src/perf/format.js'
import {analyzeLog} from '../../src/perf/report.js'
import {ABSOLUTE_ERROR_US, LogHistogram, RELATIVE_ERROR, StageSeries} from '../../src/perf/stats.js'
import {rng} from '../../src/perf/synthetic.js'
import {sortedPercentile, tempDir, writeLog} from './helpers.js'

const dir = tempDir()
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const PS = [50, 90, 99, 99.9] as const
const KEY = {50: 'p50', 90: 'p90', 99: 'p99', 99.9: 'p999'} as const

/** The documented bound, checked against the sort-based value. */
function expectWithinBound(actual: number, exact: number, what: string): void {
  expect(Math.abs(actual - exact), `${what}: ${actual} vs exact ${exact}`).toBeLessThanOrEqual(Math.abs(exact) * RELATIVE_ERROR + ABSOLUTE_ERROR_US)
}

describe('percentiles (log-bucketed sketch) against a sort-based computation', () => {
  const r = rng(42)
  const cases: Record<string, number[]> = {
    'uniform 0..1000 µs': Array.from({length: 20_000}, () => r() * 1000),
    'heavy tail (Pareto)': Array.from({length: 20_000}, () => 50 / Math.pow(1 - r(), 1.2)),
    'signed slack with zeros': Array.from({length: 20_000}, (_, i) => (i % 97 === 0 ? 0 : 4166 - r() * 4500)),
    'integers with ties': Array.from({length: 5_000}, () => Math.floor(r() * 20)),
    'tiny and huge': Array.from({length: 5_000}, (_, i) => (i % 2 === 0 ? r() * 1e-4 : 1e9 * (1 + r()))),
    'one value': [1234.5678],
    'small n': [5, 1, 4, 2, 3],
  }
  for (const [name, values] of Object.entries(cases)) {
    it(name, () => {
      const h = new LogHistogram()
      for (const v of values) h.add(v)
      const d = h.distribution()
      expect(d.count).toBe(values.length)
      expect(d.max).toBe(Math.max(...values))
      expect(d.min).toBe(Math.min(...values))
      expect(d.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6)
      for (const p of PS) expectWithinBound(d[KEY[p]], sortedPercentile(values, p), `p${p}`)
      expectWithinBound(h.quantile(0), Math.min(...values), 'p0')
      expect(h.quantile(1)).toBe(Math.max(...values))
    })
  }

  it('is not trivially right: a distribution-free guess would miss the bound', () => {
    // the sketch must tell two close distributions apart: shifting every value by 1% moves p50 by 1%
    const base = Array.from({length: 10_000}, () => 1000 + r() * 10)
    const h1 = new LogHistogram()
    const h2 = new LogHistogram()
    for (const v of base) {
      h1.add(v)
      h2.add(v * 1.01)
    }
    expect(h2.quantile(0.5) / h1.quantile(0.5)).toBeGreaterThan(1.009)
    expect(h2.quantile(0.5) / h1.quantile(0.5)).toBeLessThan(1.011)
  })

  it('an empty histogram reports NaN, not zeros', () => {
    const d = new LogHistogram().distribution()
    expect(d.count).toBe(0)
    expect(Number.isNaN(d.p50) && Number.isNaN(d.mean) && Number.isNaN(d.max)).toBe(true)
  })
})

describe('histogram bins for plots', () => {
  it('agree with binning the raw values, up to values that sit on a bin edge', () => {
    const r = rng(99)
    const values = Array.from({length: 30_000}, () => (r() < 0.1 ? -r() * 300 : 200 + r() * r() * 5000))
    const h = new LogHistogram()
    for (const v of values) h.add(v)
    const lo = -100
    const hi = 3000
    const n = 40
    const {counts, below, above} = h.bins(lo, hi, n)
    const expected = new Array<number>(n).fill(0)
    let eBelow = 0
    let eAbove = 0
    for (const v of values) {
      if (v < lo) eBelow++
      else if (v > hi) eAbove++
      else expected[Math.min(n - 1, Math.floor(((v - lo) / (hi - lo)) * n))]++
    }
    expect(counts.reduce((a, b) => a + b, 0) + below + above).toBe(values.length)
    // a value moves at most to its neighbour bin, and only when within 0.05% of an edge
    const moved = counts.reduce((a, c, i) => a + Math.abs(c - expected[i]), 0) + Math.abs(below - eBelow) + Math.abs(above - eAbove)
    expect(moved).toBeLessThan(values.length * 0.01)
    expect(Math.abs(below - eBelow)).toBeLessThanOrEqual(20)
  })
})

describe('a report of a log written through PerfLogWriter', () => {
  it('matches an independent computation over the records as written', async () => {
    const path = join(dir, 'report.perf')
    const recs = await writeLog(path, 12_000, {seed: 17, idrEvery: 1000})
    const {summary: s} = analyzeLog(path, {chunkBytes: 64 * 1024})
    expect(s.frames).toBe(12_000)
    const stageOf: Record<string, (x: PerfRecord) => number> = {
      capture: (x) => x.captureUs,
      convert: (x) => x.convertUs,
      encode: (x) => x.encodeUs,
      packetize: (x) => x.packetizeUs,
      send: (x) => x.sendUs,
      total: (x) => x.totalUs,
      slack: (x) => x.slackUs,
    }
    for (const [stage, get] of Object.entries(stageOf)) {
      const values = recs.map(get)
      const d = s.stages[stage as keyof typeof s.stages]
      expect(d.count).toBe(values.length)
      expect(d.max).toBe(Math.max(...values))
      expect(d.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 3)
      for (const p of PS) expectWithinBound(d[KEY[p]], sortedPercentile(values, p), `${stage} p${p}`)
    }
    const idr = recs.filter((x) => x.idr)
    const p = recs.filter((x) => !x.idr)
    expect(s.idr.count).toBe(12)
    expect(s.p.count).toBe(12_000 - 12)
    expect(s.idr.meanBytes).toBeCloseTo(idr.reduce((a, x) => a + x.bytes, 0) / idr.length, 6)
    expect(s.p.meanEncodeUs).toBeCloseTo(p.reduce((a, x) => a + x.encodeUs, 0) / p.length, 3)
    expect(s.idrOverP.bytes).toBeGreaterThan(3) // synthetic IDRs are ~7x a P-frame
    expect(s.uniqueFrames).toBe(recs.filter((x) => !x.reencoded).length)
    expect(s.reencodedFrames).toBe(recs.filter((x) => x.reencoded).length)
    expect(s.reencodedFrames).toBeGreaterThan(0)
    expect(s.lateFrames).toBe(recs.filter((x) => x.slackUs < 0).length)
    expect(s.largestBurst.packets).toBe(Math.max(...recs.map((x) => x.burstPackets)))
    expect(s.bytes).toBe(recs.reduce((a, x) => a + x.bytes, 0))
    expect(s.packets).toBe(recs.reduce((a, x) => a + x.packets, 0))
    // 12,000 frames at 240 fps: 50 s; jitter on capture times moves it by well under a frame
    expect(s.durationS).toBeCloseTo(50, 1)
    expect(s.fps).toBeCloseTo(240, 0)
    expect(s.mbps).toBeCloseTo((s.bytes * 8) / 50 / 1e6, 1)
    expect(s.clientFramesLost).toBe(recs.at(-1)!.clientFramesLost - recs[0].clientFramesLost)
    expect(s.frameIndexGaps).toBe(0)
  })

  it('--since/--until keep exactly the frames captured inside the window', async () => {
    const path = join(dir, 'window.perf')
    const recs = await writeLog(path, 2_400, {seed: 23}) // 10 s at 240 fps
    const inside = recs.filter((x) => x.captureTimeUs >= 2e6 && x.captureTimeUs < 5.5e6)
    const {summary: s} = analyzeLog(path, {sinceS: 2, untilS: 5.5})
    expect(s.frames).toBe(inside.length)
    expect(s.records.valid).toBe(2_400)
    expect(s.firstCaptureS).toBeCloseTo(inside[0].captureTimeUs / 1e6, 9)
    expect(s.lastCaptureS).toBeCloseTo(inside.at(-1)!.captureTimeUs / 1e6, 9)
    expect(s.stages.encode.max).toBe(Math.max(...inside.map((x) => x.encodeUs)))
    expectWithinBound(s.stages.total.p99, sortedPercentile(inside.map((x) => x.totalUs), 99), 'windowed total p99')
    expect(analyzeLog(path, {sinceS: 100}).summary.frames).toBe(0)
  })

  it('counts frame-index gaps (records that never reached the log)', async () => {
    const path = join(dir, 'gaps.perf')
    await writeLog(path, 500, {seed: 29, map: (x) => {
      if (x.frameIndex >= 100) x.frameIndex += x.frameIndex >= 300 ? 7 : 3
    }})
    expect(analyzeLog(path).summary.frameIndexGaps).toBe(7)
  })
})

describe('the time series kept for plots', () => {
  it('stays bounded and keeps the max of every merged bin', () => {
    const series = new StageSeries(50)
    const r = {captureTimeUs: 0, captureUs: 0, convertUs: 0, encodeUs: 0, packetizeUs: 0, sendUs: 0, totalUs: 0, slackUs: 0} as PerfRecord
    let spikeAt = -1
    for (let i = 0; i < 100_000; i++) {
      r.captureTimeUs = i * 4166.67
      r.encodeUs = i === 77_777 ? 50_000 : 1000 + (i % 10)
      if (i === 77_777) spikeAt = r.captureTimeUs / 1e6
      series.add(r)
    }
    const pts = series.points('encode')
    expect(pts.length).toBeLessThanOrEqual(100)
    expect(pts.length).toBeGreaterThanOrEqual(50)
    expect(Math.max(...pts.map((p) => p.max))).toBe(50_000)
    const spikeBin = pts.findLast((p) => p.t <= spikeAt)!
    expect(spikeBin.max).toBe(50_000)
    const meanAll = pts.reduce((a, p) => a + p.mean, 0) / pts.length
    expect(meanAll).toBeGreaterThan(1000)
    expect(meanAll).toBeLessThan(1010)
  })
})
