/**
 * perf-report on one hour of a 240 fps stream: writes 864,000 synthetic records through
 * PerfLogWriter as fast as it takes them (timing append() as the serve pipeline would pay it; the
 * writer thread drains the ring meanwhile), then times the whole
 * report — streaming read, CRC checks, statistics, tables — and the SVG, on the main thread
 * (one core). `--records N` changes the count, `--keep` leaves the log in /tmp.
 */
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {analyzeLog, renderSummary} from '../src/perf/report.js'
import {LogHistogram} from '../src/perf/stats.js'
import {renderPerfSvg} from '../src/perf/svg.js'
import {syntheticHeader, syntheticRecords} from '../src/perf/synthetic.js'
import {PerfLogWriter} from '../src/perf/writer.js'

export const summary = 'perf-report on a 864,000-record LUMEN_PERF log (1 h at 240 fps): writer append cost, report time'

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json')
  const nArg = args.indexOf('--records')
  const n = nArg >= 0 ? Number(args[nArg + 1]) : 864_000
  const dir = mkdtempSync(join(tmpdir(), 'lumen-perf-bench-'))
  const path = join(dir, 'bench.perf')
  try {
    const writer = PerfLogWriter.open(path, syntheticHeader())
    const gen = syntheticRecords({seed: 7})
    const append = new LogHistogram()
    for (let i = 0; i < n; i++) {
      const r = gen.next().value
      const t0 = process.hrtime.bigint()
      writer.append(r)
      const dt = process.hrtime.bigint() - t0
      if (i >= 1000) append.add(Number(dt) / 1000)
    }
    await writer.close()
    const fileBytes = statSync(path).size
    const {droppedRecords} = writer.stats()

    const t0 = performance.now()
    const analysis = analyzeLog(path)
    const text = renderSummary(analysis.summary)
    const reportMs = performance.now() - t0
    const t1 = performance.now()
    const svg = renderPerfSvg(analysis)
    const svgMs = performance.now() - t1

    const results = {
      records: n,
      fileMB: fileBytes / 1e6,
      appendUs: {mean: append.sum / append.count, p99: append.quantile(0.99), p999: append.quantile(0.999), max: append.max},
      writerDroppedRecords: droppedRecords,
      reportS: reportMs / 1000,
      recordsPerS: n / (reportMs / 1000),
      svgS: svgMs / 1000,
      svgKB: svg.length / 1000,
      framesReported: analysis.summary.frames,
      rssMB: process.memoryUsage().rss / 1e6,
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(results)}\n`)
      return
    }
    process.stdout.write(text)
    process.stdout.write(`perf-report bench: ${n} records (${results.fileMB.toFixed(1)} MB)\n`)
    const a = results.appendUs
    process.stdout.write(`  writer append   mean ${a.mean.toFixed(3)} µs, p99 ${a.p99.toFixed(2)}, p99.9 ${a.p999.toFixed(2)}, max ${a.max.toFixed(1)} µs (after 1000 warm-up; includes the writer-thread wake), dropped ${droppedRecords}\n`)
    process.stdout.write(`  report          ${results.reportS.toFixed(2)} s (${(results.recordsPerS / 1e6).toFixed(2)} M records/s, one thread)\n`)
    process.stdout.write(`  svg             ${results.svgS.toFixed(3)} s, ${results.svgKB.toFixed(0)} kB\n`)
    process.stdout.write(`  rss             ${results.rssMB.toFixed(0)} MB\n`)
  } finally {
    if (!args.includes('--keep')) rmSync(dir, {recursive: true, force: true})
    else process.stderr.write(`kept ${path}\n`)
  }
}
