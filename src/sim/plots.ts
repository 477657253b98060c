/** fec-sim's SVG plots, drawn with src/plot. */
import {barChart, type LineSeries, lineChart, stackCharts, type VerticalMarker} from '../plot/svg.js'
import type {FecSimResult} from './runner.js'

const pct = (v: number): string => `${Number((v * 100).toPrecision(3))}%`

export interface SweepRow {
  /** the configured link loss */
  loss: number
  result: FecSimResult
}

/** Residual frame loss against link loss, simulated and (uniform) the binomial expectation. */
export function sweepSvg(rows: readonly SweepRow[], subtitle: string): string {
  const frames = Math.max(1, ...rows.map((r) => r.result.framesSent))
  const floor = 10 ** Math.floor(Math.log10(0.5 / frames))
  const clamp = (v: number): number => Math.max(v, floor)
  const series: LineSeries[] = [
    {name: 'simulated residual frame loss', points: rows.map((r) => ({x: r.loss * 100, y: clamp(r.result.residualFrameLoss)})), dots: true},
    {name: 'frames unusable (lost + undecodable)', points: rows.map((r) => ({x: r.loss * 100, y: clamp(r.result.unusableFrameShare)})), dashed: true},
  ]
  if (rows.every((r) => r.result.expectedFramesLost !== undefined))
    series.splice(1, 0, {
      name: 'binomial expectation',
      points: rows.map((r) => ({x: r.loss * 100, y: clamp((r.result.expectedFramesLost as number) / r.result.framesSent)})),
      dots: false,
    })
  return lineChart({
    title: 'Residual frame loss vs link packet loss',
    subtitle,
    width: 900,
    height: 480,
    x: {label: 'link packet loss (%)', min: Math.min(...rows.map((r) => r.loss * 100)), max: Math.max(...rows.map((r) => r.loss * 100))},
    y: {label: `share of frames (log; ${floor.toExponential(0)} = none in ${frames})`, log: true, min: floor, max: 1, format: (v) => (v >= 0.01 ? pct(v) : v.toExponential(0))},
    series,
  })
}

/** Frames lost and undecodable per second over one run, IDR requests marked. */
export function timelineSvg(r: FecSimResult, fps: number, subtitle: string): string {
  const t = r.timeline
  const xs = t.lost.map((_, i) => i * t.bucketSeconds)
  const markers: VerticalMarker[] = []
  let lastX = -Infinity
  const span = xs.length * t.bucketSeconds
  for (const f of r.lostFrameIndices) {
    const x = (f - 1) / fps
    if (x - lastX < span / 150) continue
    markers.push({x, color: '#d62728'})
    lastX = x
    if (markers.length > 40) break
  }
  if (markers.length > 40) markers.length = 0 // too many to read: the bars show them
  const perSecond = barChart({
    title: 'Frames lost over time',
    subtitle,
    width: 900,
    height: 420,
    categories: xs.map((x) => `${x}`),
    series: [
      {name: `lost (${r.framesLost})`, values: t.lost, color: '#d62728'},
      {name: `undecodable until IDR (${r.framesUndecodable})`, values: t.undecodable, color: '#ff7f0e'},
    ],
    stacked: true,
    x: {label: `stream time (s), one bar per ${t.bucketSeconds} s; ${r.idrRequests} IDR requests`},
    y: {label: 'frames per second', min: 0},
    maxLabels: 12,
    legend: true,
  })
  let cl = 0
  let cu = 0
  const cumulative = lineChart({
    title: 'Cumulative frames lost',
    width: 900,
    height: 300,
    x: {label: markers.length > 0 ? 'stream time (s); dotted lines: lost frames' : 'stream time (s)', min: 0, max: Math.max(1, span)},
    y: {label: 'frames', min: 0},
    series: [
      {name: 'lost', points: xs.map((x, i) => ({x: x + t.bucketSeconds, y: (cl += t.lost[i])})), color: '#d62728'},
      {name: 'lost + undecodable', points: xs.map((x, i) => ({x: x + t.bucketSeconds, y: (cu += t.lost[i] + t.undecodable[i])})), color: '#ff7f0e', dashed: true},
    ],
    markers,
    legend: true,
  })
  return stackCharts([perSecond, cumulative])
}
