/**
 * `lumen perf-report` as a person runs it: the built CLI (bin/run.js → dist/) in a child process.
 */
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {RECORD_SIZE} from '../../src/perf/format.js'
import {lumen as run} from '../helpers/index.js'
import {sortedPercentile, tempDir, writeLog} from './helpers.js'

const dir = tempDir()
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const lumen = (args: string[]) => run(['perf-report', ...args])

function json<T = Record<string, any>>(args: string[]): T {
  const r = lumen([...args, '--json'])
  expect(r.status, r.stderr).toBe(0)
  return JSON.parse(r.stdout) as T
}

describe('lumen perf-report', () => {
  let a: string
  let b: string
  let aRecs: Awaited<ReturnType<typeof writeLog>>
  let bRecs: Awaited<ReturnType<typeof writeLog>>

  beforeAll(async () => {
    a = join(dir, 'a.perf')
    b = join(dir, 'b.perf')
    aRecs = await writeLog(a, 4_800, {seed: 31}) // 20 s at 240 fps
    // "after the change": encode twice as slow, same everything else
    bRecs = await writeLog(b, 4_800, {seed: 31, map: (r) => void (r.encodeUs *= 2)})
  })

  it('--json: one report per file with every stage and the documented fields', () => {
    const out = json<{reports: any[]}>([a])
    expect(Object.keys(out)).toEqual(['reports'])
    expect(out.reports).toHaveLength(1)
    const s = out.reports[0]
    for (const k of ['file', 'header', 'window', 'records', 'frames', 'uniqueFrames', 'reencodedFrames', 'lateFrames', 'idr', 'p', 'idrOverP', 'largestBurst', 'durationS', 'fps', 'mbps', 'stages', 'percentiles'])
      expect(s, k).toHaveProperty(k)
    expect(Object.keys(s.stages)).toEqual(['capture', 'convert', 'encode', 'packetize', 'send', 'total', 'slack'])
    for (const d of Object.values(s.stages) as any[]) expect(Object.keys(d).sort()).toEqual(['count', 'max', 'mean', 'min', 'p50', 'p90', 'p99', 'p999'])
    expect(s.frames).toBe(4_800)
    expect(s.header).toMatchObject({width: 2560, height: 1440, fps: 240, codec: 'hevc', encoder: 'hevc_nvenc'})
    expect(s.stages.encode.max).toBe(Math.max(...aRecs.map((r) => r.encodeUs)))
    const exact = sortedPercentile(aRecs.map((r) => r.sendUs), 99)
    expect(Math.abs(s.stages.send.p99 - exact)).toBeLessThanOrEqual(exact * 2 ** -11)
    expect(s.lateFrames).toBe(aRecs.filter((r) => r.slackUs < 0).length)
  })

  it('prints the tables a person reads', () => {
    const r = lumen([a])
    expect(r.status, r.stderr).toBe(0)
    for (const label of ['capture', 'convert', 'encode', 'packetize+FEC', 'send', 'total', 'deadline slack', 'p99.9', 'IDR ÷ P', 're-encoded', 'largest burst', 'Mbit/s'])
      expect(r.stdout).toContain(label)
    expect(r.stderr).toBe('')
  })

  it('--since/--until cut the window', () => {
    const s = json<{reports: any[]}>([a, '--since', '5', '--until', '12.5']).reports[0]
    expect(s.frames).toBe(aRecs.filter((r) => r.captureTimeUs >= 5e6 && r.captureTimeUs < 12.5e6).length)
    expect(s.window).toEqual({sinceS: 5, untilS: 12.5})
    expect(lumen([a, '--since', '5', '--until', '2']).status).toBe(2)
    expect(lumen([a, '--since', 'soon']).status).not.toBe(0)
  })

  it('--compare: side by side with B ÷ A ratios', () => {
    const out = json<{reports: any[]; comparison: any}>(['--compare', a, b])
    const c = out.comparison
    const pA = sortedPercentile(aRecs.map((r) => r.encodeUs), 50)
    const pB = sortedPercentile(bRecs.map((r) => r.encodeUs), 50)
    expect(pB / pA).toBeCloseTo(2, 2)
    expect(c.stages.encode.p50.ratio).toBeGreaterThan(2 * (1 - 2 ** -9))
    expect(c.stages.encode.p50.ratio).toBeLessThan(2 * (1 + 2 ** -9))
    expect(c.stages.encode.max.ratio).toBeCloseTo(Math.max(...bRecs.map((r) => r.encodeUs)) / Math.max(...aRecs.map((r) => r.encodeUs)), 6)
    expect(c.stages.send.p99.ratio).toBe(1)
    expect(c.scalars.frames).toEqual({a: 4_800, b: 4_800, ratio: 1})
    const text = lumen(['--compare', a, b])
    expect(text.status).toBe(0)
    expect(text.stdout).toMatch(/encode p50 µs.*×2\.00/)
    expect(lumen(['--compare', a]).status).toBe(2)
  })

  it('a corrupt and truncated log: counted, skipped, one warning, no crash', () => {
    const path = join(dir, 'damaged.perf')
    const bytes = Buffer.from(readFileSync(a))
    const h = 16 + bytes.readUInt32LE(12) + 4
    for (const i of [10, 11, 2000, 4000]) bytes[h + i * RECORD_SIZE + 30] ^= 0x5a
    writeFileSync(path, bytes.subarray(0, bytes.length - 20))
    const r = lumen([path, '--json'])
    expect(r.status, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout).reports[0]
    expect(s.records).toMatchObject({valid: 4_800 - 5, corrupt: 4, tailBytes: 44})
    expect(r.stderr.split('\n').filter((l) => l.trim() !== '' && /warn/i.test(l))).toHaveLength(1)
    expect(r.stderr).toMatch(/4 corrupt records/)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/) // no stack trace
  })

  it('a missing or foreign file: one line, exit 2 (an input error, README CLI contract)', () => {
    const missing = lumen([join(dir, 'nope.perf')])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(/no such file/)
    const foreign = join(dir, 'foreign.perf')
    writeFileSync(foreign, 'x'.repeat(100))
    const r = lumen([foreign])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/not a readable LUMEN_PERF log/)
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/)
  })

  it('--svg writes the plot file and names it in --json', () => {
    const svg = join(dir, 'out.svg')
    const out = json<{svg: string}>([a, '--svg', svg])
    expect(out.svg).toBe(svg)
    const text = readFileSync(svg, 'utf8')
    expect(text.startsWith('<svg ')).toBe(true)
    expect(text).toContain('encode over time')
    expect(lumen([a, '--svg', join(dir, 'no-such-dir', 'x.svg')]).status).toBe(2)
  })

  it('--help documents the log format', () => {
    const help = lumen(['--help'])
    expect(help.status, help.stderr).toBe(0)
    const out = help.stdout
    for (const s of ['LUMNPERF', 'CRC-32', '--since', '--until', '--compare', '--svg', '--json', 'still being written']) expect(out).toContain(s)
  })
})
