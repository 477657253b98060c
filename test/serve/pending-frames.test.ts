/**
 * The frame loop's reused records of frames in flight: found by frame id until taken, never lost
 * when more frames are in flight than the ring held (it grows).
 */
import {describe, expect, it} from 'vitest'

import {PendingFrames} from '../../src/media/stream/pending-frames.js'

describe('pending frames', () => {
  it('gives back each frame once, by id, and reuses the records', () => {
    const p = new PendingFrames(4)
    const first = p.add(1)
    first.slotNs = 11
    expect(p.take(2)).toBeUndefined()
    expect(p.take(1)?.slotNs).toBe(11)
    expect(p.take(1)).toBeUndefined()
    expect(p.add(5)).toBe(first) // same slot of the ring
  })

  it('grows instead of losing frames when many are in flight', () => {
    const p = new PendingFrames(4)
    for (let id = 1; id <= 100; id++) p.add(id).slotNs = id * 10
    for (let id = 1; id <= 100; id++) expect(p.take(id)?.slotNs).toBe(id * 10)
  })
})
