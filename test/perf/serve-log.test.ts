/**
 * perf-report on a log made by the real `lumen serve` pipeline (not a synthetic fixture): the
 * built CLI streams to the test client with LUMEN_PERF set, then `lumen perf-report --json`
 * reads the log. The expected figures come from decoding the file in this test by the layout
 * documented in src/perf/format.ts (its own DataView parsing, not the project's reader) and
 * from sort-based nearest-rank percentiles.
 */
import type {ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {lumen, sleep} from '../helpers/index.js'
import {connectClient, type ClientSession} from '../serve/helpers.js'
import {startServeCli} from '../serve/processes.js'

interface RawRecord {
  idr: boolean
  reencoded: boolean
  encodeUs: number
  sendUs: number
  totalUs: number
  slackUs: number
  packets: number
  bytes: number
  burst: number
}

/** The documented layout: 16-byte fixed header + JSON + CRC, then 64-byte records. */
function decodeLog(file: string): {header: Record<string, unknown>; records: RawRecord[]} {
  const b = readFileSync(file)
  expect(b.toString('latin1', 0, 8)).toBe('LUMNPERF')
  expect(b.readUInt16LE(10)).toBe(64)
  const n = b.readUInt32LE(12)
  const header = JSON.parse(b.toString('utf8', 16, 16 + n)) as Record<string, unknown>
  const records: RawRecord[] = []
  for (let off = 20 + n; off + 64 <= b.length; off += 64) {
    expect(b.readUInt16LE(off)).toBe(0x504c)
    const flags = b.readUInt8(off + 2)
    records.push({
      idr: (flags & 1) !== 0,
      reencoded: (flags & 2) !== 0,
      encodeUs: b.readFloatLE(off + 24),
      sendUs: b.readFloatLE(off + 32),
      totalUs: b.readFloatLE(off + 36),
      slackUs: b.readFloatLE(off + 40),
      packets: b.readUInt32LE(off + 44),
      bytes: b.readUInt32LE(off + 48),
      burst: b.readUInt32LE(off + 52),
    })
  }
  return {header, records}
}

function nearestRank(values: number[], q: number): number {
  const s = [...values].sort((x, y) => x - y)
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]
}

let dir: string | undefined
let child: ChildProcess | undefined
let client: ClientSession | undefined
afterAll(async () => {
  await client?.close()
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL')
  if (dir !== undefined) rmSync(dir, {recursive: true, force: true})
})

describe('perf-report on a log written by lumen serve', () => {
  it('reports what the log holds: counts, IDRs, bytes and per-stage percentiles', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lumen-perf-serve-'))
    const perf = join(dir, 'serve.perf')
    const serve = await startServeCli(['--source', 'synthetic', '--audio', 'off', '--config-dir', join(dir, 'config')], {...process.env, LUMEN_PERF: perf})
    child = serve.child
    const base = serve.base
    client = await connectClient('127.0.0.1', base, {announce: {width: 320, height: 240, fps: 60, codec: 0, encryptionEnabled: 1}, decode: false})
    await sleep(2500)
    client.control.requestIdr()
    await sleep(1500)
    await client.close()
    client = undefined
    expect(await serve.stop()).toBe(0)

    const {header, records} = decodeLog(perf)
    expect(records.length).toBeGreaterThan(120)
    expect(header).toMatchObject({width: 320, height: 240, fps: 60})

    const r = lumen(['perf-report', perf, '--json'])
    expect(r.status, r.stderr).toBe(0)
    const report = (JSON.parse(r.stdout) as {reports: Array<Record<string, any>>}).reports[0]
    expect(report.frames).toBe(records.length)
    expect(report.reencodedFrames).toBe(records.filter((x) => x.reencoded).length)
    expect(report.uniqueFrames).toBe(records.filter((x) => !x.reencoded).length)
    expect(report.lateFrames).toBe(records.filter((x) => x.slackUs < 0).length)
    expect(report.largestBurst.packets).toBe(Math.max(...records.map((x) => x.burst)))
    // the stream start and the requested recovery: two IDRs, both in the log and the report
    const idrs = records.filter((x) => x.idr).length
    expect(idrs).toBe(2)
    expect(report.idr.count).toBe(idrs)
    expect(report.p.count).toBe(records.length - idrs)
    const idrBytes = records.filter((x) => x.idr).map((x) => x.bytes)
    expect(report.idr.maxBytes).toBe(Math.max(...idrBytes))
    for (const [stage, pick] of [
      ['encode', (x: RawRecord) => x.encodeUs],
      ['send', (x: RawRecord) => x.sendUs],
      ['total', (x: RawRecord) => x.totalUs],
    ] as const) {
      const values = records.map(pick)
      const d = report.stages[stage] as Record<string, number>
      expect(d.count, stage).toBe(values.length)
      expect(d.max, stage).toBe(Math.max(...values))
      expect(d.mean, stage).toBeCloseTo(values.reduce((a, v) => a + v, 0) / values.length, 3)
      for (const [key, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]] as const) {
        const exact = nearestRank(values, q)
        // the report's documented bound: within 2^-11 relative (buckets 1 + 2^-10 wide)
        expect(Math.abs(d[key] - exact), `${stage} ${key}`).toBeLessThanOrEqual(exact * 2 ** -11 + 1e-3)
      }
    }
  }, 60_000)
})
