import {statSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {LumenCommand} from '../cli/command.js'
import {checkInputFile, writeOutputFile} from '../cli/files.js'
import {Progress} from '../cli/output.js'
import {FORMAT_HELP} from '../perf/format.js'
import {PerfLogError} from '../perf/reader.js'
import {type Analysis, analyzeLog, compare, type Comparison, damageWarning, renderComparison, renderSummary} from '../perf/report.js'
import type {PerfSummary} from '../perf/stats.js'
import {renderPerfSvg} from '../perf/svg.js'

export interface PerfReportResult {
  reports: PerfSummary[]
  comparison?: Comparison
  svg?: string
}

const seconds = Flags.custom<number>({
  parse: async (input) => {
    const v = Number(input)
    if (input.trim() === '' || !Number.isFinite(v) || v < 0) throw new Error(`expected a number of seconds ≥ 0, got "${input}"`)
    return v
  },
})

export default class PerfReport extends LumenCommand {
  static override summary = 'Per-stage timing tables (and plots) from LUMEN_PERF logs written by `lumen serve`'

  static override description = `Reads one or more per-frame timing logs (LUMEN_PERF=FILE lumen serve) and prints, per stage — capture, convert, encode, packetize+FEC, send, total, and deadline slack — the count, mean, p50, p90, p99, p99.9 and max in µs; unique vs re-encoded frames; IDR count and IDR cost against P-frames (bytes, encode µs); late frames (negative slack); the largest packet burst; achieved fps and Mbit/s.

Percentiles are nearest-rank order statistics taken from a log-bucketed histogram, within 0.05% (relative) of the exact value; count, mean, min and max are exact. Memory stays bounded whatever the log's length.

A log still being written can be read: what is complete is reported, an incomplete last record is ignored. Corrupt or truncated records are counted and skipped with one warning.

${FORMAT_HELP}`

  static override examples = [
    '<%= config.bin %> <%= command.id %> /tmp/lumen.perf',
    '<%= config.bin %> <%= command.id %> /tmp/lumen.perf --since 10 --until 70 --svg perf.svg',
    '<%= config.bin %> <%= command.id %> --compare before.perf after.perf',
    '<%= config.bin %> <%= command.id %> /tmp/lumen.perf --json',
  ]

  static override enableJsonFlag = true
  static override strict = false

  static override args = {
    file: Args.string({description: 'LUMEN_PERF log(s) to report on', required: true}),
  }

  static override flags = {
    svg: Flags.string({description: 'write per-stage time series (IDRs marked) and latency histograms of the first FILE to this SVG file'}),
    compare: Flags.boolean({description: 'exactly two FILEs, A then B: side by side with B ÷ A ratios', default: false}),
    since: seconds({description: 'report only frames captured at or after this many seconds into the stream'}),
    until: seconds({description: 'report only frames captured before this many seconds into the stream'}),
  }

  async run(): Promise<PerfReportResult> {
    const {argv, flags} = await this.parse(PerfReport)
    const files = argv as string[]
    if (flags.compare && files.length !== 2) this.fail('usage', `--compare takes exactly two logs, A and B; got ${files.length}`)
    if (flags.since !== undefined && flags.until !== undefined && flags.until <= flags.since)
      this.fail('conflicting_flags', `--until (${flags.until}) must be after --since (${flags.since})`)

    const analyses: Analysis[] = []
    for (const file of files) {
      checkInputFile(file, 'the LUMEN_PERF log')
      const total = statSync(file).size
      const progress = new Progress(`reading ${file}`, total)
      let analysis: Analysis
      try {
        analysis = analyzeLog(file, {
          sinceS: flags.since,
          untilS: flags.until,
          onProgress: (done) => progress.update(done),
        })
      } catch (error) {
        progress.done()
        if (error instanceof PerfLogError) this.fail('malformed_input', error.message, {cause: error})
        throw error
      }
      progress.done()
      const warning = damageWarning(analysis.summary)
      // on stderr even with --json (stdout stays the JSON)
      if (warning !== undefined) process.stderr.write(`warning: ${warning}\n`)
      analyses.push(analysis)
    }

    const result: PerfReportResult = {reports: analyses.map((a) => a.summary)}
    if (flags.compare) result.comparison = compare(analyses[0].summary, analyses[1].summary)
    if (flags.svg !== undefined) {
      writeOutputFile(flags.svg, renderPerfSvg(analyses[0], flags.compare ? analyses[1] : undefined), 'the plot')
      result.svg = flags.svg
    }

    if (!this.jsonEnabled()) {
      if (result.comparison === undefined) for (const s of result.reports) this.log(renderSummary(s))
      else {
        for (const s of result.reports) this.log(renderSummary(s))
        this.log(renderComparison(result.comparison))
      }
      if (result.svg !== undefined) process.stderr.write(`wrote ${result.svg}\n`)
    }
    return result
  }
}
