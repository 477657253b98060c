/**
 * The cost of one call across the ffi-rs seam, which sets the shim's API shape
 * (a handful of calls per frame, none per packet).
 */
import {ErrorBuffer} from '../src/native/call.js'
import {shim} from '../src/native/library.js'

export const summary = 'ffi-rs per-call cost (no args, a string arg, a 1400-byte Buffer + error buffer)'

function perCallUs(iterations: number, f: () => void): number {
  for (let i = 0; i < 1000; i++) f()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) f()
  return Number(process.hrtime.bigint() - t0) / 1000 / iterations
}

export async function run(args: string[]): Promise<void> {
  const lib = shim()
  const n = 200_000
  const err = new ErrorBuffer()
  const versionBuf = Buffer.alloc(1400)
  const results = {
    noArgsUs: perCallUs(n, () => lib.lumen_now_ns([])),
    stringArgUs: perCallUs(n, () => lib.lumen_avcodec_has_encoder(['libx264'])),
    bufferArgsUs: perCallUs(n, () => lib.lumen_avcodec_version_string([versionBuf, versionBuf.length])),
    errorPathUs: perCallUs(n, () => lib.lumen_echo_error([-3, 'bench', ...err.args()])),
  }
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify({iterations: n, ...results})}\n`)
    return
  }
  process.stdout.write(`ffi-rs call cost over ${n} calls (µs per call)\n`)
  for (const [k, v] of Object.entries(results)) process.stdout.write(`  ${k.padEnd(14)} ${v.toFixed(3)}\n`)
}
