/**
 * A few soak cycles (bench/soak.ts runs 1000): launch → stream → quit against one `lumen serve`,
 * every stream delivering frames, and serve's open fds and threads back where they were after the
 * first (warm-up) cycle, every cycle.
 */
import {describe, expect, it} from 'vitest'

import {soak} from '../../bench/soak.js'

describe('soak', () => {
  it('keeps fds and threads flat over launch → stream → quit cycles', async () => {
    const r = await soak({cycles: 6, streamMs: 500, every: 0})
    expect(r.failure).toBeUndefined()
    expect(r.cycles).toBe(6)
    for (const s of r.samples) expect(s.frames, `cycle ${s.cycle} streamed`).toBeGreaterThan(0)
    const warm = r.samples[0]
    for (const s of r.samples.slice(1)) expect({cycle: s.cycle, fds: s.fds, threads: s.threads}).toEqual({cycle: s.cycle, fds: warm.fds, threads: warm.threads})
  }, 120_000)
})
