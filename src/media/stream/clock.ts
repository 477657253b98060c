/**
 * CLOCK_MONOTONIC in nanoseconds, as the shim's deadlines and the send thread's records use it,
 * read without an allocation: process.hrtime.bigint() makes a bigint on every read (the frame
 * loop reads the clock five times a frame), performance.now() is the same clock (libuv's
 * uv_hrtime) less a fixed origin, as a double. The origin is measured once per thread against
 * hrtime, to within half the shortest of a few back-to-back reads (tens of nanoseconds).
 */
function origin(): number {
  let best = Number.POSITIVE_INFINITY
  let at = 0
  for (let i = 0; i < 5; i++) {
    const before = Number(process.hrtime.bigint())
    const ms = performance.now()
    const after = Number(process.hrtime.bigint())
    if (after - before < best) {
      best = after - before
      at = (before + after) / 2 - ms * 1e6
    }
  }
  return at
}

const originNs = origin()

/** CLOCK_MONOTONIC now, ns. */
export function monotonicNowNs(): number {
  return performance.now() * 1e6 + originNs
}
