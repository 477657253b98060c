/**
 * What perf-report's SVG shows, independent of how it is drawn: per stage, the time series
 * (mean and worst per bin: max, or min for the deadline slack) with IDR frames as markers, and a latency histogram with p50/p99 marks.
 * With a second analysis (--compare), its series and histogram are laid over the first's.
 */
import type {Analysis} from './report.js'
import {STAGE_LABEL, STAGES, type Stage} from './stats.js'

export interface SeriesData {
  name: string
  points: {x: number; y: number}[]
  /** main line or a fainter companion (the per-bin max) */
  emphasis: 'main' | 'faint'
  /** index of the log the series comes from: 0 = A, 1 = B */
  source: number
}

export interface HistogramData {
  name: string
  source: number
  counts: number[]
  below: number
  above: number
}

export interface StagePlotData {
  stage: Stage
  label: string
  series: SeriesData[]
  /** IDR capture times of the first log, seconds (at most `maxIdrMarks`) */
  idrTimesS: number[]
  idrTotal: number
  /** frames per time bin of the series (first log) */
  binFrames: number
  histLo: number
  histHi: number
  histograms: HistogramData[]
  /** p50 and p99 of the first log, µs */
  p50: number
  p99: number
}

export interface PerfPlotData {
  title: string
  subtitle: string
  stages: StagePlotData[]
}

const HIST_BINS = 60

export function perfPlotData(a: Analysis, b?: Analysis, maxIdrMarks = 300): PerfPlotData {
  const logs = b === undefined ? [a] : [a, b]
  const names = b === undefined ? [''] : ['A ', 'B ']
  const h = a.summary.header
  const stages = STAGES.map((stage): StagePlotData => {
    const series: SeriesData[] = []
    logs.forEach((log, i) => {
      const pts = log.aggregator.series.points(stage)
      series.push({name: `${names[i]}mean`, points: pts.map((p) => ({x: p.t, y: p.mean})), emphasis: 'main', source: i})
      // the worst of a bin: its max, except for slack, where the worst is the least
      if (stage === 'slack') series.push({name: `${names[i]}min`, points: pts.map((p) => ({x: p.t, y: p.min})), emphasis: 'faint', source: i})
      else series.push({name: `${names[i]}max`, points: pts.map((p) => ({x: p.t, y: p.max})), emphasis: 'faint', source: i})
    })
    // range: from the smallest min to the largest p99.9, so one outlier does not squash the shape;
    // what lies beyond is counted, not drawn
    let lo = Number.POSITIVE_INFINITY
    let hi = Number.NEGATIVE_INFINITY
    for (const log of logs) {
      const d = log.summary.stages[stage]
      if (d.count === 0) continue
      lo = Math.min(lo, d.min)
      hi = Math.max(hi, d.p999)
    }
    if (!Number.isFinite(lo)) {
      lo = 0
      hi = 1
    }
    if (!(hi > lo)) hi = lo + 1
    const histograms = logs.map((log, i): HistogramData => ({name: b === undefined ? STAGE_LABEL[stage] : names[i].trim(), source: i, ...log.aggregator.hist[stage].bins(lo, hi, HIST_BINS)}))
    const idr = a.aggregator.idrTimesS
    const step = Math.max(1, Math.ceil(idr.length / maxIdrMarks))
    return {
      stage,
      label: STAGE_LABEL[stage],
      series,
      idrTimesS: idr.filter((_, i) => i % step === 0),
      idrTotal: a.summary.idr.count,
      binFrames: a.aggregator.series.width,
      histLo: lo,
      histHi: hi,
      histograms,
      p50: a.summary.stages[stage].p50,
      p99: a.summary.stages[stage].p99,
    }
  })
  const title = b === undefined ? `LUMEN_PERF ${a.summary.file}` : `LUMEN_PERF A: ${a.summary.file}  vs  B: ${b.summary.file}`
  const subtitle = `${h.width}x${h.height} ${h.fps} fps ${h.codec} ${h.encoder} ${h.bitrateKbps} kbit/s — ${a.summary.frames} frames, ${a.summary.fps.toFixed(1)} fps, ${a.summary.mbps.toFixed(1)} Mbit/s, ${a.summary.lateFrames} late, ${a.summary.idr.count} IDR`
  return {title, subtitle, stages}
}
