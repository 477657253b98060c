/**
 * perf-report's SVG: per stage, a time series over the stream (mean and worst of each time bin,
 * IDR frames as dashed vertical markers) beside a latency histogram (p50 and p99 marked).
 * Histograms come from the bounded-memory sketch already binned, so they are drawn as step
 * outlines on a line chart (which also lays A and B over each other for --compare).
 * Drawing is the shared src/plot module's; the layout is src/plot/grid.ts.
 */
import {gridCharts} from '../plot/grid.js'
import {lineChart, type LineSeries, PALETTE, type Point, type VerticalMarker} from '../plot/svg.js'
import {type PerfPlotData, perfPlotData, type StagePlotData} from './plot-data.js'
import type {Analysis} from './report.js'

const CHART_W = 760
const CHART_H = 270
/** one colour per log: A, B */
const COLOR = [PALETTE[0], PALETTE[1]]
const FAINT = ['#9ecae1', '#f4a6a6']
const IDR_COLOR = '#2ca02c'

function timeSeriesChart(s: StagePlotData, compare: boolean): string {
  const series: LineSeries[] = s.series.map((x) => ({
    name: x.name,
    points: x.points,
    color: x.emphasis === 'main' ? COLOR[x.source] : FAINT[x.source],
    width: x.emphasis === 'main' ? 1.8 : 1,
  }))
  // draw the faint max lines under the means
  series.sort((p, q) => (p.width ?? 2) - (q.width ?? 2))
  const labelIdrs = s.idrTimesS.length <= 12
  const markers: VerticalMarker[] = s.idrTimesS.map((x) => ({x, color: IDR_COLOR, ...(labelIdrs ? {label: 'IDR'} : {})}))
  const idrNote = s.idrTotal === 0 ? 'no IDR' : `${s.idrTotal} IDR${s.idrTotal === 1 ? '' : 's'} (green)`
  const worst = s.stage === 'slack' ? 'min' : 'max'
  const binNote = s.binFrames === 1 ? 'per frame' : `mean/${worst} of ${s.binFrames} frames`
  return lineChart({
    title: `${s.label} over time — ${binNote}; ${idrNote}${compare ? ' in A' : ''}`,
    width: CHART_W,
    height: CHART_H,
    x: {label: 'seconds since stream start'},
    y: {label: 'µs'},
    series,
    markers,
    legend: true,
  })
}

function stepOutline(lo: number, hi: number, counts: number[]): Point[] {
  const n = counts.length
  const w = (hi - lo) / n
  const pts: Point[] = [{x: lo, y: 0}]
  for (let i = 0; i < n; i++) {
    pts.push({x: lo + i * w, y: counts[i]})
    pts.push({x: lo + (i + 1) * w, y: counts[i]})
  }
  pts.push({x: hi, y: 0})
  return pts
}

function histogramChart(s: StagePlotData, compare: boolean): string {
  const series: LineSeries[] = s.histograms.map((h) => ({
    name: compare ? h.name : 'frames',
    points: stepOutline(s.histLo, s.histHi, h.counts),
    color: COLOR[h.source],
    width: 1.6,
  }))
  const above = s.histograms.map((h) => h.above).reduce((a, b) => a + b, 0)
  const markers: VerticalMarker[] = [
    {x: s.p50, label: compare ? 'A p50' : 'p50', color: '#555'},
    {x: s.p99, label: compare ? 'A p99' : 'p99', color: '#d62728'},
  ]
  return lineChart({
    title: `${s.label} histogram${above > 0 ? ` — cut at p99.9, ${above} frame${above === 1 ? '' : 's'} beyond` : ''}`,
    width: CHART_W,
    height: CHART_H,
    x: {label: 'µs', min: s.histLo, max: s.histHi},
    y: {label: 'frames', min: 0},
    series,
    markers,
    legend: compare,
  })
}

export function renderPerfSvgFromData(data: PerfPlotData, compare: boolean): string {
  const charts: string[] = []
  for (const s of data.stages) {
    charts.push(timeSeriesChart(s, compare))
    charts.push(histogramChart(s, compare))
  }
  return `${gridCharts(charts, {columns: 2, title: data.title, subtitle: data.subtitle})}\n`
}

/** The SVG document for one log, or A with B laid over it. */
export function renderPerfSvg(a: Analysis, b?: Analysis): string {
  return renderPerfSvgFromData(perfPlotData(a, b), b !== undefined)
}
