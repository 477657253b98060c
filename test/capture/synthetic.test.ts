/** The synthetic capture source: a deterministic, moving pattern with a visible counter. */
import {describe, expect, it} from 'vitest'

import {SyntheticSource} from '../../src/media/capture/synthetic.js'
import {drawPattern} from '../../src/native/capture.js'

const W = 320
const H = 240

function frame(index: number, clockMs = 0, w = W, h = H): Buffer {
  const buf = Buffer.alloc(w * h * 4)
  drawPattern(buf, w, h, w * 4, index, clockMs)
  return buf
}

/** Bytes that differ between two frames inside a rectangle. */
function differing(a: Buffer, b: Buffer, x0: number, y0: number, w: number, h: number, stride = W * 4): number {
  let n = 0
  for (let y = y0; y < y0 + h; y++) for (let x = x0 * 4; x < (x0 + w) * 4; x++) if (a[y * stride + x] !== b[y * stride + x]) n++
  return n
}

describe('synthetic pattern', () => {
  it('is deterministic: the same frame and clock draw the same bytes', () => {
    expect(frame(42, 1234).equals(frame(42, 1234))).toBe(true)
  })

  it('moves in every band from one frame to the next', () => {
    const a = frame(10)
    const b = frame(11)
    const third = Math.floor(H / 3)
    // left of the bouncing square's start, below the text panel
    expect(differing(a, b, 100, 30, 200, third - 30)).toBeGreaterThan(1000)
    expect(differing(a, b, 0, third + 5, W, third - 10)).toBeGreaterThan(1000)
    expect(differing(a, b, 0, 2 * third + 5, W, third - 10)).toBeGreaterThan(1000)
  })

  it('draws the frame counter and the clock in the top-left panel', () => {
    // same frame, different clock: only the clock line changes
    const a = frame(7, 1000)
    const b = frame(7, 2000)
    const scale = Math.max(1, Math.floor(H / 90))
    const lineH = 8 * scale
    expect(differing(a, b, 0, 0, 100, 2 * scale + lineH - scale)).toBe(0) // the counter line
    expect(differing(a, b, 0, 2 * scale + lineH, 100, lineH)).toBeGreaterThan(0) // the clock line
    // another frame number changes the counter line
    const c = frame(8, 1000)
    expect(differing(a, c, 0, 0, 100, 2 * scale + lineH - scale)).toBeGreaterThan(0)
    // the panel is black around the white glyphs
    expect(a.readUInt32LE(0)).toBe(0)
  })

  it('has detail: many distinct colours in a frame', () => {
    const f = frame(3)
    const colours = new Set<number>()
    for (let i = 0; i < f.length; i += 4) colours.add(f.readUInt32LE(i) & 0xffffff)
    expect(colours.size).toBeGreaterThan(500)
  })

  it('rejects bad geometry', () => {
    expect(() => drawPattern(Buffer.alloc(16), 320, 240, 1280, 0, 0)).toThrow(/buffer holds 16 bytes/)
    expect(() => drawPattern(Buffer.alloc(320 * 240 * 4), 320, 240, 100, 0, 0)).toThrow(/stride 100/)
  })
})

describe('SyntheticSource', () => {
  it('gives fresh BGRx CPU frames, numbered from 0, with a monotonic capture time', () => {
    const src = new SyntheticSource({width: W, height: H, clock: 'frame', fps: 60})
    const a = src.grab()
    const firstCopy = Buffer.from((a.payload as {data: Buffer}).data)
    const b = src.grab()
    expect(a.fresh && b.fresh).toBe(true)
    expect(a.payload).toMatchObject({kind: 'cpu', width: W, height: H, stride: W * 4})
    expect(b.captureNs).toBeGreaterThanOrEqual(a.captureNs)
    expect(firstCopy.equals(frame(0, 0))).toBe(true)
    expect((b.payload as {data: Buffer}).data.equals(frame(1, 16))).toBe(true)
    expect(src.nextIndex).toBe(2)
    src.close()
  })

  it('refuses a size below 16x16', () => {
    expect(() => new SyntheticSource({width: 8, height: 8})).toThrow(/not a size/)
  })
})
