/** Test helpers: logs made through the real PerfLogWriter, and an independent percentile. */
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {PerfLogHeader, PerfRecord} from '../../src/perf/format.js'
import {syntheticHeader, syntheticRecords, type SyntheticOptions} from '../../src/perf/synthetic.js'
import {PerfLogWriter} from '../../src/perf/writer.js'

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lumen-perf-test-'))
}

/** What the reader must give back for a record: f32 fields rounded as the format stores them. */
export function asStored(r: PerfRecord): PerfRecord {
  const f = Math.fround
  return {
    ...r,
    captureUs: f(r.captureUs),
    convertUs: f(r.convertUs),
    encodeUs: f(r.encodeUs),
    packetizeUs: f(r.packetizeUs),
    sendUs: f(r.sendUs),
    totalUs: f(r.totalUs),
    slackUs: f(r.slackUs),
  }
}

/** Writes `n` synthetic records through PerfLogWriter; returns them as stored. */
export async function writeLog(path: string, n: number, options: SyntheticOptions & {header?: Partial<PerfLogHeader>; map?: (r: PerfRecord) => void} = {}): Promise<PerfRecord[]> {
  const writer = PerfLogWriter.open(path, syntheticHeader(options.header ?? {}), {ringRecords: 1 << 20})
  const gen = syntheticRecords(options)
  const out: PerfRecord[] = []
  for (let i = 0; i < n; i++) {
    const r = gen.next().value as PerfRecord
    options.map?.(r)
    writer.append(r)
    out.push(asStored(r))
  }
  await writer.close()
  if (writer.stats().droppedRecords > 0) throw new Error(`the writer dropped ${writer.stats().droppedRecords} records`)
  return out
}

/** Nearest-rank percentile by sorting: the value at rank ceil(p/100·n), 1-based (p in tenths exact). */
export function sortedPercentile(values: number[], p: number): number {
  const s = Float64Array.from(values).sort()
  const rank = Math.max(1, Math.ceil((Math.round(p * 10) * s.length) / 1000))
  return s[rank - 1]
}
