/**
 * The synthetic pattern as `--source gltest` draws it on the GPU (a compute shader writing the
 * chain's source image) against the CPU drawer plus the stamp writer, byte for byte, at sizes
 * and frame numbers that move every part of it (the scrolling blocks, the gradient, the bars of
 * four widths, the bouncing square, both text lines, the stamp). Runs on Mesa's software GL
 * here and on NVIDIA's GL on a GPU box: the same shader the chain uses.
 */
import {describe, expect, it} from 'vitest'

import {stampBits, readStampI420} from '../../src/media/capture/stamp.js'
import {SyntheticSource} from '../../src/media/capture/synthetic.js'
import {drawPatternGl} from '../../src/native/gpu.js'

const FRAMES = [0, 1, 2, 37, 1000, 65_537, 9_999_999, 123_456_789, 2 ** 32 - 1]

function cpu(width: number, height: number, index: number, clockMs: number, stamp: boolean): Buffer {
  const p = new SyntheticSource({width, height, stamp}).draw({index, clockMs}).payload
  if (p.kind !== 'cpu') throw new Error('synthetic frames are host frames')
  return p.data
}

/** Pixels whose B, G, R or X byte differ, and the first one. */
function diff(a: Buffer, b: Buffer, width: number): {pixels: number; first?: string} {
  let pixels = 0
  let first: string | undefined
  for (let i = 0; i < a.length; i += 4) {
    if (a[i] === b[i] && a[i + 1] === b[i + 1] && a[i + 2] === b[i + 2] && a[i + 3] === b[i + 3]) continue
    pixels++
    first ??= `(${(i / 4) % width}, ${Math.floor(i / 4 / width)}): gpu ${[...a.subarray(i, i + 4)]} cpu ${[...b.subarray(i, i + 4)]}`
  }
  return {pixels, first}
}

describe('the GPU-drawn pattern', () => {
  for (const [width, height] of [
    [640, 360],
    [1280, 720],
    [1366, 768],
  ] as const) {
    it(`equals the CPU's at ${width}x${height}, with and without the stamp`, () => {
      for (const [i, index] of FRAMES.entries()) {
        const clockMs = i * 3_723_456
        const stamped = i % 2 === 0
        const gpu = drawPatternGl(width, height, index, clockMs, stamped ? stampBits(index) : undefined)
        expect(diff(gpu, cpu(width, height, index, clockMs, stamped), width), `frame ${index}`).toEqual({pixels: 0})
      }
    })
  }

  it('is the same through a plain (R,G,B) texture as through a raw (B,G,R,X) one', () => {
    const raw = drawPatternGl(320, 240, 4242, 1000, stampBits(4242), true)
    const plain = drawPatternGl(320, 240, 4242, 1000, stampBits(4242), false)
    expect(diff(plain, raw, 320)).toEqual({pixels: 0})
  })

  it('carries a stamp the test client reads back', () => {
    const width = 640
    const height = 360
    const bgrx = drawPatternGl(width, height, 77, 0, stampBits(123_456))
    // luma of the picture, as a decoder's Y plane would hold it (BT.601 weights are enough for black/white blocks)
    const y = Buffer.alloc(width * height)
    for (let p = 0; p < width * height; p++) y[p] = Math.round(0.114 * bgrx[p * 4] + 0.587 * bgrx[p * 4 + 1] + 0.299 * bgrx[p * 4 + 2])
    expect(readStampI420(y, width, height)).toBe(123_456)
  })

  it('refuses a short buffer and an out-of-range frame with a sentence', () => {
    expect(() => drawPatternGl(8, 8, 0, 0)).toThrow(/size 8x8 is outside 16\.\.8192/)
    expect(() => drawPatternGl(64, 64, -1, 0)).toThrow(/frame -1, stamp -1 or check 0 is out of range/)
  })
})
