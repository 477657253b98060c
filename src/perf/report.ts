/**
 * perf-report's service layer: one log → a PerfSummary (plus the histograms and series the SVG
 * needs), two summaries → a comparison, summaries → text tables.
 */
import {renderTable, type Cell} from '../cli/output.js'
import {readPerfLog, type ReadOptions} from './reader.js'
import {type AggregatorOptions, type Distribution, PerfAggregator, type PerfSummary, STAGE_LABEL, STAGES, type Stage} from './stats.js'

export interface Analysis {
  summary: PerfSummary
  aggregator: PerfAggregator
}

export function analyzeLog(path: string, options: AggregatorOptions & ReadOptions = {}): Analysis {
  const aggregator = new PerfAggregator(options)
  const read = readPerfLog(path, (r) => aggregator.add(r), options)
  const summary = aggregator.summary(path, read.header, {
    valid: read.records,
    corrupt: read.corruptRecords,
    corruptBytes: read.corruptBytes,
    tailBytes: read.tailBytes,
  })
  return {summary, aggregator}
}

/** The one warning line for a log with damage or an incomplete last record, or undefined. */
export function damageWarning(s: PerfSummary): string | undefined {
  const parts: string[] = []
  if (s.records.corrupt > 0) parts.push(`skipped ${s.records.corrupt} corrupt record${s.records.corrupt === 1 ? '' : 's'} (${s.records.corruptBytes} bytes)`)
  if (s.records.tailBytes > 0) parts.push(`ignored an incomplete last record (${s.records.tailBytes} bytes; the log may still be being written)`)
  return parts.length === 0 ? undefined : `${s.file}: ${parts.join('; ')}`
}

export type Metric = 'count' | 'mean' | 'p50' | 'p90' | 'p99' | 'p999' | 'max'
export const METRICS: Metric[] = ['count', 'mean', 'p50', 'p90', 'p99', 'p999', 'max']
const METRIC_LABEL: Record<Metric, string> = {count: 'count', mean: 'mean', p50: 'p50', p90: 'p90', p99: 'p99', p999: 'p99.9', max: 'max'}

/** Scalar figures compared by --compare, in table order. */
export const SCALARS = ['frames', 'uniqueFrames', 'reencodedFrames', 'lateFrames', 'fps', 'mbps', 'idrCount', 'idrMeanBytes', 'pMeanBytes', 'idrMeanEncodeUs', 'pMeanEncodeUs', 'largestBurst', 'clientFramesLost'] as const
export type Scalar = (typeof SCALARS)[number]

export function scalar(s: PerfSummary, k: Scalar): number {
  switch (k) {
    case 'frames':
      return s.frames
    case 'uniqueFrames':
      return s.uniqueFrames
    case 'reencodedFrames':
      return s.reencodedFrames
    case 'lateFrames':
      return s.lateFrames
    case 'fps':
      return s.fps
    case 'mbps':
      return s.mbps
    case 'idrCount':
      return s.idr.count
    case 'idrMeanBytes':
      return s.idr.meanBytes
    case 'pMeanBytes':
      return s.p.meanBytes
    case 'idrMeanEncodeUs':
      return s.idr.meanEncodeUs
    case 'pMeanEncodeUs':
      return s.p.meanEncodeUs
    case 'largestBurst':
      return s.largestBurst.packets
    case 'clientFramesLost':
      return s.clientFramesLost
  }
}

export interface Comparison {
  a: string
  b: string
  /** b ÷ a per stage and metric (null where a is 0 or either is missing) */
  stages: Record<Stage, Record<Metric, {a: number; b: number; ratio: number | null}>>
  scalars: Record<Scalar, {a: number; b: number; ratio: number | null}>
}

function ratio(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) && a !== 0 ? b / a : null
}

export function compare(a: PerfSummary, b: PerfSummary): Comparison {
  const stages = Object.fromEntries(
    STAGES.map((st) => [
      st,
      Object.fromEntries(METRICS.map((m) => [m, {a: a.stages[st][m], b: b.stages[st][m], ratio: ratio(a.stages[st][m], b.stages[st][m])}])),
    ]),
  ) as Comparison['stages']
  const scalars = Object.fromEntries(SCALARS.map((k) => [k, {a: scalar(a, k), b: scalar(b, k), ratio: ratio(scalar(a, k), scalar(b, k))}])) as Comparison['scalars']
  return {a: a.file, b: b.file, stages, scalars}
}

function fmtRatio(r: number | null): string {
  return r === null ? '–' : `×${r.toFixed(2)}`
}

/** A figure with a fixed number of decimals ('–' when missing). */
export function fixed(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–'
  return v.toFixed(digits)
}

function distRow(label: string, d: Distribution): Cell[] {
  return [label, d.count, fixed(d.mean), fixed(d.p50), fixed(d.p90), fixed(d.p99), fixed(d.p999), fixed(d.max)]
}

export function renderSummary(s: PerfSummary): string {
  const h = s.header
  const window = s.window.sinceS === null && s.window.untilS === null ? '' : `  window ${s.window.sinceS ?? 0}s – ${s.window.untilS ?? 'end'}${s.window.untilS === null ? '' : 's'}`
  const title = `${s.file}: ${h.width}x${h.height} ${h.fps} fps ${h.codec} ${h.encoder} ${h.bitrateKbps} kbit/s, started ${new Date(h.startTimeMs).toISOString()}${window}`
  const stages = renderTable(
    ['stage (µs)', 'count', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max'],
    STAGES.map((st) => distRow(STAGE_LABEL[st], s.stages[st])),
    {title},
  )
  const frames = renderTable(
    ['frames', 'unique', 're-encoded', 'late', 'fps', 'Mbit/s', 'duration s', 'largest burst (pkts)', 'client lost', 'index gaps'],
    [[s.frames, s.uniqueFrames, s.reencodedFrames, s.lateFrames, fixed(s.fps, 2), fixed(s.mbps, 2), fixed(s.durationS, 2), s.largestBurst.packets === 0 ? '–' : `${s.largestBurst.packets} (frame ${s.largestBurst.frameIndex})`, s.clientFramesLost, s.frameIndexGaps]],
  )
  const kinds = renderTable(
    ['frame kind', 'count', 'mean bytes', 'max bytes', 'mean encode µs', 'max encode µs'],
    [
      ['IDR', s.idr.count, fixed(s.idr.meanBytes, 0), s.idr.count === 0 ? '–' : s.idr.maxBytes, fixed(s.idr.meanEncodeUs), s.idr.count === 0 ? '–' : fixed(s.idr.maxEncodeUs)],
      ['P', s.p.count, fixed(s.p.meanBytes, 0), s.p.count === 0 ? '–' : s.p.maxBytes, fixed(s.p.meanEncodeUs), s.p.count === 0 ? '–' : fixed(s.p.maxEncodeUs)],
      ['IDR ÷ P', '', fmtRatio(s.idrOverP.bytes), '', fmtRatio(s.idrOverP.encodeUs), ''],
    ],
  )
  return `${stages}\n${frames}\n${kinds}\npercentiles: ${s.percentiles}\n`
}

const SCALAR_DIGITS: Record<Scalar, number> = {
  frames: 0,
  uniqueFrames: 0,
  reencodedFrames: 0,
  lateFrames: 0,
  fps: 2,
  mbps: 2,
  idrCount: 0,
  idrMeanBytes: 0,
  pMeanBytes: 0,
  idrMeanEncodeUs: 1,
  pMeanEncodeUs: 1,
  largestBurst: 0,
  clientFramesLost: 0,
}

const SCALAR_LABEL: Record<Scalar, string> = {
  frames: 'frames',
  uniqueFrames: 'unique frames',
  reencodedFrames: 're-encoded frames',
  lateFrames: 'late frames',
  fps: 'fps',
  mbps: 'Mbit/s',
  idrCount: 'IDR frames',
  idrMeanBytes: 'IDR mean bytes',
  pMeanBytes: 'P mean bytes',
  idrMeanEncodeUs: 'IDR mean encode µs',
  pMeanEncodeUs: 'P mean encode µs',
  largestBurst: 'largest burst (pkts)',
  clientFramesLost: 'client frames lost',
}

export function renderComparison(c: Comparison): string {
  const rows: Cell[][] = []
  for (const st of STAGES)
    for (const m of ['mean', 'p50', 'p99', 'p999', 'max'] as Metric[]) {
      const x = c.stages[st][m]
      rows.push([`${STAGE_LABEL[st]} ${METRIC_LABEL[m]} µs`, fixed(x.a), fixed(x.b), fmtRatio(x.ratio)])
    }
  for (const k of SCALARS) {
    const x = c.scalars[k]
    const digits = SCALAR_DIGITS[k]
    rows.push([SCALAR_LABEL[k], fixed(x.a, digits), fixed(x.b, digits), fmtRatio(x.ratio)])
  }
  return `${renderTable(['', `A: ${c.a}`, `B: ${c.b}`, 'B ÷ A'], rows, {title: 'comparison'})}\n`
}
