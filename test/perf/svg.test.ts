import {spawnSync} from 'node:child_process'
import {readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {perfPlotData} from '../../src/perf/plot-data.js'
import {analyzeLog} from '../../src/perf/report.js'
import {renderPerfSvg} from '../../src/perf/svg.js'
import {tempDir, writeLog} from './helpers.js'

const dir = tempDir()
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const hasRsvg = spawnSync('rsvg-convert', ['--version']).status === 0

describe('perf-report --svg', () => {
  it('draws a time series and a histogram per stage, with every IDR marked', async () => {
    const path = join(dir, 'plot.perf')
    // 30 s at 240 fps, IDRs at frames 0, 2400, 4800
    const recs = await writeLog(path, 7_200, {seed: 41, idrEvery: 2400})
    const idrTimes = recs.filter((r) => r.idr).map((r) => r.captureTimeUs / 1e6)
    expect(idrTimes).toHaveLength(3)
    const analysis = analyzeLog(path)
    const svg = renderPerfSvg(analysis)
    const charts = svg.match(/<svg /g) ?? []
    expect(charts).toHaveLength(1 + 14)
    for (const label of ['capture', 'convert', 'encode', 'packetize+FEC', 'send', 'total', 'deadline slack']) {
      expect(svg).toContain(`>${label} over time`)
      expect(svg).toContain(`>${label} histogram`)
    }
    // three IDR markers in each of the seven time series
    expect(svg.match(/>IDR<\/text>/g) ?? []).toHaveLength(3 * 7)
    // the markers sit where the IDRs are: same x positions in every time-series chart
    const data = perfPlotData(analysis)
    for (const s of data.stages) expect(s.idrTimesS).toEqual(idrTimes)
    // the histogram keeps every frame: in range, or counted as beyond p99.9
    for (const s of data.stages) {
      const h = s.histograms[0]
      expect(h.counts.reduce((a, b) => a + b, 0) + h.below + h.above).toBe(7_200)
      expect(h.above).toBeLessThanOrEqual(Math.ceil(7_200 * 0.001))
    }
  })

  it('writes a file that renders to PNG (rsvg-convert)', async (ctx) => {
    if (!hasRsvg) ctx.skip('rsvg-convert (librsvg2-bin) is not installed')
    const a = join(dir, 'a.perf')
    const b = join(dir, 'b.perf')
    await writeLog(a, 2_400, {seed: 43})
    await writeLog(b, 2_400, {seed: 44, map: (r) => void (r.sendUs *= 3)})
    const svgPath = join(dir, 'cmp.svg')
    const png = join(dir, 'cmp.png')
    const svg = renderPerfSvg(analyzeLog(a), analyzeLog(b))
    expect(svg).toContain('>A</text>')
    expect(svg).toContain('>B</text>')
    writeFileSync(svgPath, svg)
    const r = spawnSync('rsvg-convert', ['-o', png, svgPath], {encoding: 'utf8'})
    expect(r.status, r.stderr).toBe(0)
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG')
    expect(statSync(png).size).toBeGreaterThan(50_000)
  })
})
