/** perf-report's plots (placeholder until the shared src/plot module lands). */
import type {Analysis} from './report.js'

export function renderPerfSvg(a: Analysis, _b?: Analysis): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><!-- ${a.summary.frames} --></svg>\n`
}
