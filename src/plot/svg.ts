/**
 * A small dependency-free SVG plotting module: line charts (several series, axes with ticks and
 * labels, linear or log scales, optional vertical markers, legend) and bar charts / histograms.
 * Every function returns a complete standalone SVG document as a string; {@link stackCharts}
 * puts several into one file. No DOM, no fonts beyond a generic sans-serif.
 */

export interface Point {
  x: number
  y: number
}

export interface LineSeries {
  name: string
  points: readonly Point[]
  /** CSS colour; a palette colour by default */
  color?: string
  dashed?: boolean
  /** draw a dot at every point */
  dots?: boolean
  /** stroke width, default 2 */
  width?: number
}

export interface AxisOptions {
  label?: string
  /** data range; computed from the data when absent */
  min?: number
  max?: number
  /** log10 scale (values ≤ 0 are clamped to the smallest positive value shown) */
  log?: boolean
  /** tick label text */
  format?: (v: number) => string
  /** about how many ticks (linear scales), default 6 */
  ticks?: number
}

export interface VerticalMarker {
  x: number
  label?: string
  color?: string
}

export interface ChartFrame {
  title?: string
  /** a smaller second title line (parameters, units) */
  subtitle?: string
  /** pixels, default 800 × 420 */
  width?: number
  height?: number
}

export interface LineChartOptions extends ChartFrame {
  x: AxisOptions
  y: AxisOptions
  series: readonly LineSeries[]
  markers?: readonly VerticalMarker[]
  /** default true when there is more than one series */
  legend?: boolean
}

export interface Bar {
  /** category label (bar charts) */
  label?: string
  value: number
}

export interface BarSeries {
  name: string
  values: readonly number[]
  color?: string
}

export interface BarChartOptions extends ChartFrame {
  /** one label per group */
  categories: readonly string[]
  /** one or more series, drawn side by side in each category (stacked when `stacked`) */
  series: readonly BarSeries[]
  stacked?: boolean
  y: AxisOptions
  x?: {label?: string}
  /** show at most this many category labels (evenly spaced), default 20 */
  maxLabels?: number
  legend?: boolean
}

export interface HistogramOptions extends ChartFrame {
  values: readonly number[]
  /** number of equal-width bins, default ceil(sqrt(n)) capped at 60 */
  bins?: number
  x: AxisOptions
  y?: AxisOptions
  color?: string
  markers?: readonly VerticalMarker[]
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']

interface Margins {
  left: number
  right: number
  top: number
  bottom: number
}

function margins(o: ChartFrame): Margins {
  return {left: 78, right: 24, top: o.subtitle !== undefined ? 62 : o.title !== undefined ? 44 : 20, bottom: 58}
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;'})[c] as string)
}

const r2 = (v: number): string => (Math.round(v * 100) / 100).toString()

/** 1-2-5 "nice" ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0]
  if (hi === lo) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1
    lo -= d
    hi += d
  }
  const raw = (hi - lo) / Math.max(1, count)
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag
  const out: number[] = []
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)))
  return out
}

/** A default tick label: integers plain, otherwise up to 4 significant digits, small/large in exponent form. */
export function formatTick(v: number): string {
  if (v === 0) return '0'
  const a = Math.abs(v)
  if (a >= 1e6 || a < 1e-3) return v.toExponential(0).replace('e+', 'e')
  if (Number.isInteger(v)) return v.toString()
  return Number(v.toPrecision(4)).toString()
}

interface Scale {
  map(v: number): number
  ticks: number[]
  format: (v: number) => string
  lo: number
  hi: number
}

function makeScale(opt: AxisOptions, dataLo: number, dataHi: number, p0: number, p1: number, padTop: boolean): Scale {
  const format = opt.format ?? formatTick
  if (opt.log === true) {
    const minPos = Number.isFinite(dataLo) && dataLo > 0 ? dataLo : 1e-6
    const lo = 10 ** Math.floor(Math.log10(opt.min !== undefined && opt.min > 0 ? opt.min : minPos))
    const hi = 10 ** Math.ceil(Math.log10(Math.max(opt.max ?? dataHi, lo * 10)))
    const ticks: number[] = []
    for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e++) ticks.push(10 ** e)
    const L0 = Math.log10(lo)
    const L1 = Math.log10(hi)
    return {lo, hi, ticks, format, map: (v) => p0 + ((Math.log10(Math.max(v, lo)) - L0) / (L1 - L0)) * (p1 - p0)}
  }
  let lo = opt.min ?? (Number.isFinite(dataLo) ? Math.min(0, dataLo) : 0)
  let hi = opt.max ?? (Number.isFinite(dataHi) ? dataHi : 1)
  if (hi <= lo) hi = lo + 1
  if (opt.max === undefined && padTop) hi += (hi - lo) * 0.05
  const ticks = niceTicks(lo, hi, opt.ticks ?? 6)
  if (opt.min === undefined) lo = Math.min(lo, ticks[0])
  if (opt.max === undefined) hi = Math.max(hi, ticks[ticks.length - 1])
  return {lo, hi, ticks: ticks.filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12), format, map: (v) => p0 + ((v - lo) / (hi - lo)) * (p1 - p0)}
}

function open(width: number, height: number, o: ChartFrame): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ]
  if (o.title !== undefined) out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`)
  if (o.subtitle !== undefined) out.push(`<text x="${width / 2}" y="44" text-anchor="middle" font-size="12" fill="#444">${escapeXml(o.subtitle)}</text>`)
  return out
}

function axes(out: string[], MARGIN: Margins, w: number, h: number, xs: Scale | null, ys: Scale, xLabel: string | undefined, yLabel: string | undefined): void {
  const L = MARGIN.left
  const R = w - MARGIN.right
  const T = MARGIN.top
  const B = h - MARGIN.bottom
  for (const t of ys.ticks) {
    const y = r2(ys.map(t))
    out.push(`<line x1="${L}" y1="${y}" x2="${R}" y2="${y}" stroke="#e6e6e6"/>`)
    out.push(`<text x="${L - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(ys.format(t))}</text>`)
  }
  if (xs !== null)
    for (const t of xs.ticks) {
      const x = r2(xs.map(t))
      out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${B}" stroke="#f0f0f0"/>`)
      out.push(`<line x1="${x}" y1="${B}" x2="${x}" y2="${B + 5}" stroke="#333"/>`)
      out.push(`<text x="${x}" y="${B + 18}" text-anchor="middle">${escapeXml(xs.format(t))}</text>`)
    }
  out.push(`<line x1="${L}" y1="${B}" x2="${R}" y2="${B}" stroke="#333"/>`)
  out.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${B}" stroke="#333"/>`)
  if (xLabel !== undefined) out.push(`<text x="${(L + R) / 2}" y="${h - 14}" text-anchor="middle">${escapeXml(xLabel)}</text>`)
  if (yLabel !== undefined)
    out.push(`<text transform="translate(16 ${(T + B) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`)
}

function legend(out: string[], MARGIN: Margins, w: number, items: {name: string; color: string; dashed?: boolean}[]): void {
  let y = MARGIN.top + 8
  const x = w - MARGIN.right - 10
  const width = Math.max(...items.map((i) => i.name.length)) * 6.6 + 34
  out.push(`<rect x="${r2(x - width)}" y="${y - 10}" width="${r2(width)}" height="${items.length * 18 + 6}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`)
  for (const it of items) {
    out.push(`<line x1="${r2(x - width + 6)}" y1="${y + 3}" x2="${r2(x - width + 24)}" y2="${y + 3}" stroke="${it.color}" stroke-width="3"${it.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`)
    out.push(`<text x="${r2(x - width + 30)}" y="${y + 3}" dominant-baseline="middle">${escapeXml(it.name)}</text>`)
    y += 18
  }
}

function verticalMarkers(out: string[], MARGIN: Margins, markers: readonly VerticalMarker[] | undefined, xs: Scale, h: number): void {
  for (const m of markers ?? []) {
    if (m.x < xs.lo || m.x > xs.hi) continue
    const x = r2(xs.map(m.x))
    const c = m.color ?? '#888'
    out.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${h - MARGIN.bottom}" stroke="${c}" stroke-dasharray="3 3"/>`)
    if (m.label !== undefined) out.push(`<text x="${x}" y="${MARGIN.top - 4}" text-anchor="middle" font-size="10" fill="${c}">${escapeXml(m.label)}</text>`)
  }
}

/** A line chart of one or more series over a shared x axis. */
export function lineChart(o: LineChartOptions): string {
  const MARGIN = margins(o)
  const w = o.width ?? 800
  const h = o.height ?? 420
  const xsData = o.series.flatMap((s) => s.points.map((p) => p.x))
  const ysData = o.series.flatMap((s) => s.points.map((p) => p.y)).filter((v) => Number.isFinite(v))
  const yPos = ysData.filter((v) => v > 0)
  const xs = makeScale(o.x, Math.min(...xsData), Math.max(...xsData), MARGIN.left, w - MARGIN.right, false)
  const ys = makeScale(o.y, o.y.log === true ? Math.min(...yPos) : Math.min(...ysData), Math.max(...ysData), h - MARGIN.bottom, MARGIN.top, true)
  const out = open(w, h, o)
  axes(out, MARGIN, w, h, xs, ys, o.x.label, o.y.label)
  verticalMarkers(out, MARGIN, o.markers, xs, h)
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    if (pts.length === 0) return
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${r2(xs.map(p.x))} ${r2(ys.map(p.y))}`).join(' ')
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 2}"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"/>`)
    if (s.dots === true) for (const p of pts) out.push(`<circle cx="${r2(xs.map(p.x))}" cy="${r2(ys.map(p.y))}" r="3" fill="${color}"/>`)
  })
  if (o.legend ?? o.series.length > 1) legend(out, MARGIN, w, o.series.map((s, i) => ({name: s.name, color: s.color ?? PALETTE[i % PALETTE.length], dashed: s.dashed})))
  out.push('</svg>')
  return out.join('\n')
}

/** Bars per category: one or more series side by side (or stacked). */
export function barChart(o: BarChartOptions): string {
  const MARGIN = margins(o)
  const w = o.width ?? 800
  const h = o.height ?? 420
  const n = o.categories.length
  const totals = o.categories.map((_, i) => (o.stacked === true ? o.series.reduce((a, s) => a + Math.max(0, s.values[i] ?? 0), 0) : Math.max(...o.series.map((s) => s.values[i] ?? 0))))
  const ys = makeScale(o.y, 0, Math.max(0, ...totals), h - MARGIN.bottom, MARGIN.top, true)
  const out = open(w, h, o)
  axes(out, MARGIN, w, h, null, ys, o.x?.label, o.y.label)
  const plotW = w - MARGIN.left - MARGIN.right
  const slot = plotW / Math.max(1, n)
  const groupW = slot * 0.8
  const per = o.stacked === true ? 1 : Math.max(1, o.series.length)
  const barW = groupW / per
  const every = Math.max(1, Math.ceil(n / (o.maxLabels ?? 20)))
  const base = ys.map(Math.max(0, ys.lo))
  for (let i = 0; i < n; i++) {
    const x0 = MARGIN.left + i * slot + (slot - groupW) / 2
    let cum = 0
    o.series.forEach((s, si) => {
      const v = s.values[i] ?? 0
      if (!(v > 0)) return
      const color = s.color ?? PALETTE[si % PALETTE.length]
      if (o.stacked === true) {
        const bottom = ys.map(cum)
        const top = ys.map(cum + v)
        out.push(`<rect x="${r2(x0)}" y="${r2(top)}" width="${r2(Math.max(1, barW - 1))}" height="${r2(bottom - top)}" fill="${color}"/>`)
        cum += v
      } else {
        const y = ys.map(v)
        out.push(`<rect x="${r2(x0 + si * barW)}" y="${r2(y)}" width="${r2(Math.max(1, barW - 1))}" height="${r2(base - y)}" fill="${color}"/>`)
      }
    })
    if (i % every === 0) out.push(`<text x="${r2(MARGIN.left + (i + 0.5) * slot)}" y="${h - MARGIN.bottom + 18}" text-anchor="middle">${escapeXml(o.categories[i])}</text>`)
  }
  if (o.legend ?? o.series.length > 1) legend(out, MARGIN, w, o.series.map((s, i) => ({name: s.name, color: s.color ?? PALETTE[i % PALETTE.length]})))
  out.push('</svg>')
  return out.join('\n')
}

/** Equal-width bins over [min, max] of the values (or the axis range): counts per bin. */
export function binValues(values: readonly number[], bins: number, lo?: number, hi?: number): {edges: number[]; counts: number[]} {
  const finite = values.filter((v) => Number.isFinite(v))
  const a = lo ?? Math.min(...finite)
  let b = hi ?? Math.max(...finite)
  if (!(b > a)) b = a + 1
  const counts = new Array<number>(bins).fill(0)
  for (const v of finite) {
    if (v < a || v > b) continue
    counts[Math.min(bins - 1, Math.floor(((v - a) / (b - a)) * bins))]++
  }
  const edges = Array.from({length: bins + 1}, (_, i) => a + ((b - a) * i) / bins)
  return {edges, counts}
}

/** A histogram of values on a numeric x axis. */
export function histogram(o: HistogramOptions): string {
  const MARGIN = margins(o)
  const w = o.width ?? 800
  const h = o.height ?? 420
  const n = o.values.length
  const bins = o.bins ?? Math.min(60, Math.max(1, Math.ceil(Math.sqrt(n))))
  const {edges, counts} = binValues(o.values, bins, o.x.min, o.x.max)
  const xs = makeScale({...o.x, min: edges[0], max: edges[bins]}, edges[0], edges[bins], MARGIN.left, w - MARGIN.right, false)
  const ys = makeScale(o.y ?? {label: 'count'}, 0, Math.max(1, ...counts), h - MARGIN.bottom, MARGIN.top, true)
  const out = open(w, h, o)
  axes(out, MARGIN, w, h, xs, ys, o.x.label, (o.y ?? {label: 'count'}).label)
  const base = ys.map(ys.lo)
  for (let i = 0; i < bins; i++) {
    if (counts[i] === 0) continue
    const x0 = xs.map(edges[i])
    const x1 = xs.map(edges[i + 1])
    const y = ys.map(counts[i])
    out.push(`<rect x="${r2(x0)}" y="${r2(y)}" width="${r2(Math.max(1, x1 - x0 - 1))}" height="${r2(base - y)}" fill="${o.color ?? PALETTE[0]}"/>`)
  }
  verticalMarkers(out, MARGIN, o.markers, xs, h)
  out.push('</svg>')
  return out.join('\n')
}

/** Several chart documents one under another in a single SVG. */
export function stackCharts(charts: readonly string[]): string {
  let y = 0
  let width = 0
  const parts: string[] = []
  for (const c of charts) {
    const m = /<svg[^>]*width="(\d+(?:\.\d+)?)"[^>]*height="(\d+(?:\.\d+)?)"/.exec(c)
    const cw = m === null ? 800 : Number(m[1])
    const ch = m === null ? 420 : Number(m[2])
    parts.push(c.replace(/^<svg /, `<svg x="0" y="${y}" `))
    y += ch
    width = Math.max(width, cw)
  }
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">`, ...parts, '</svg>'].join('\n')
}
