/** src/plot: ticks, scales and the shapes the SVG documents contain; rsvg-convert renders them. */
import {spawnSync} from 'node:child_process'

import {describe, expect, it} from 'vitest'

import {barChart, binValues, escapeXml, histogram, lineChart, niceTicks, stackCharts} from '../../src/plot/svg.js'

const rsvg = spawnSync('rsvg-convert', ['--version']).status === 0

function renders(svg: string): boolean {
  const r = spawnSync('rsvg-convert', ['-f', 'png'], {input: svg})
  return r.status === 0 && r.stdout.subarray(1, 4).toString() === 'PNG'
}

describe('plot', () => {
  it('nice ticks are 1-2-5 steps covering the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10])
    expect(niceTicks(0, 0.12, 6)).toEqual([0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12])
    expect(niceTicks(3, 3)[0]).toBeLessThanOrEqual(3)
  })

  it('a line chart draws one path per series at the right pixels, markers and a legend', () => {
    const svg = lineChart({
      title: 'T <&>',
      width: 400,
      height: 300,
      x: {label: 'x', min: 0, max: 10},
      y: {label: 'y', min: 0, max: 100},
      series: [
        {name: 'a', points: [{x: 0, y: 0}, {x: 10, y: 100}]},
        {name: 'b', points: [{x: 5, y: 50}], dots: true},
      ],
      markers: [{x: 5, label: 'IDR'}],
    })
    expect(svg).toContain('T &lt;&amp;&gt;')
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1])
    expect(paths.length).toBe(2)
    // plot area: x 78..376 (400 - 24), y 242 (300 - 58, bottom) .. 44 (below the title)
    expect(paths[0]).toBe('M78 242 L376 44')
    expect(svg).toMatch(/<circle cx="227" cy="143"/)
    expect(svg).toMatch(/<line x1="227" y1="44" x2="227" y2="242"[^>]*stroke-dasharray/)
    expect(svg).toContain('>IDR<')
    expect(svg).toContain('>a<')
    expect(svg).toContain('>b<')
    if (rsvg) expect(renders(svg)).toBe(true)
  })

  it('a log axis puts decades evenly apart and clamps values at its floor', () => {
    const svg = lineChart({height: 300, width: 400, x: {min: 0, max: 1}, y: {log: true, min: 1e-4, max: 1}, series: [{name: 'p', points: [{x: 0, y: 0}, {x: 0.5, y: 1e-2}, {x: 1, y: 1}]}]})
    const d = /<path d="([^"]+)"/.exec(svg)?.[1]
    // floor at the bottom (242), 1e-2 halfway, 1 at the top (20 with no title)
    expect(d).toBe('M78 242 L227 131 L376 20')
    for (const t of ['0.0001', '0.001', '0.01', '0.1', '1']) expect(svg).toContain(`>${t === '0.0001' ? '1e-4' : t}<`)
  })

  it('stacked bars are as tall as the sum, side-by-side bars as each value', () => {
    const stacked = barChart({width: 400, height: 300, categories: ['a', 'b'], series: [{name: 's', values: [1, 2]}, {name: 't', values: [1, 0]}], stacked: true, y: {min: 0, max: 4}})
    const rects = [...stacked.matchAll(/<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)" fill="#/g)].map((m) => [Number(m[1]), Number(m[2])])
    // 4 units over 222 px (242 - 20): 55.5 px per unit
    expect(rects.map(([, h]) => h)).toEqual([55.5, 55.5, 111])
    expect(rects[1][0] + rects[1][1]).toBeCloseTo(rects[0][0], 5) // the second sits on the first
    const side = barChart({width: 400, height: 300, categories: ['a'], series: [{name: 's', values: [2]}, {name: 't', values: [4]}], y: {min: 0, max: 4}})
    const h = [...side.matchAll(/height="([\d.]+)" fill="#/g)].map((m) => Number(m[1]))
    expect(h).toEqual([111, 222])
    if (rsvg) expect(renders(stacked)).toBe(true)
  })

  it('histograms count every value in equal bins', () => {
    const {counts, edges} = binValues([0, 1, 1, 2, 3, 9.99, 10], 5, 0, 10)
    expect(counts).toEqual([3, 2, 0, 0, 2])
    expect(edges).toEqual([0, 2, 4, 6, 8, 10])
    const svg = histogram({values: [1, 2, 2, 3, 3, 3], bins: 3, x: {label: 'µs'}, markers: [{x: 2, label: 'p50'}]})
    expect([...svg.matchAll(/<rect x/g)].length).toBe(3 + 0)
    if (rsvg) expect(renders(svg)).toBe(true)
  })

  it('stacks charts into one document of their summed height; escapes XML', () => {
    const a = lineChart({width: 300, height: 200, x: {}, y: {}, series: [{name: 'a', points: [{x: 0, y: 1}]}]})
    const b = lineChart({width: 500, height: 100, x: {}, y: {}, series: [{name: 'b', points: [{x: 0, y: 1}]}]})
    const s = stackCharts([a, b])
    expect(s).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="500" height="300"/)
    expect(s).toContain('<svg x="0" y="200"')
    expect(escapeXml(`a<b>&"'`)).toBe('a&lt;b&gt;&amp;&quot;&apos;')
    if (rsvg) expect(renders(s)).toBe(true)
  })
})
