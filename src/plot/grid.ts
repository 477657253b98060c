/**
 * Charts laid out in a grid (row by row, `columns` per row) in one SVG document, under an optional
 * title band. The charts are the standalone documents the functions of ./svg.ts return; each is
 * nested as it is, at its own size.
 */
import {escapeXml} from './svg.js'

export interface GridOptions {
  columns: number
  title?: string
  /** a second, smaller line under the title */
  subtitle?: string
}

function sizeOf(chart: string): {w: number; h: number} {
  const open = /<svg\b[^>]*>/.exec(chart)?.[0] ?? ''
  const w = /\bwidth="(\d+(?:\.\d+)?)"/.exec(open)
  const h = /\bheight="(\d+(?:\.\d+)?)"/.exec(open)
  return {w: w === null ? 800 : Number(w[1]), h: h === null ? 420 : Number(h[1])}
}

export function gridCharts(charts: readonly string[], options: GridOptions): string {
  const columns = Math.max(1, Math.floor(options.columns))
  const sizes = charts.map(sizeOf)
  const colW = Array.from({length: columns}, (_, c) => Math.max(0, ...sizes.filter((_, i) => i % columns === c).map((s) => s.w)))
  const rows = Math.ceil(charts.length / columns)
  const rowH = Array.from({length: rows}, (_, r) => Math.max(0, ...sizes.slice(r * columns, (r + 1) * columns).map((s) => s.h)))
  const band = options.title === undefined ? 0 : options.subtitle === undefined ? 40 : 62
  const width = colW.reduce((a, b) => a + b, 0)
  const height = band + rowH.reduce((a, b) => a + b, 0)
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ]
  if (options.title !== undefined) out.push(`<text x="${width / 2}" y="26" text-anchor="middle" font-size="18" font-weight="bold">${escapeXml(options.title)}</text>`)
  if (options.subtitle !== undefined) out.push(`<text x="${width / 2}" y="50" text-anchor="middle" font-size="13" fill="#444">${escapeXml(options.subtitle)}</text>`)
  let y = band
  for (let r = 0; r < rows; r++) {
    let x = 0
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c
      if (i >= charts.length) break
      out.push(charts[i].replace(/^\s*<svg /, `<svg x="${x}" y="${y}" `))
      x += colW[c]
    }
    y += rowH[r]
  }
  out.push('</svg>')
  return out.join('\n')
}
