/** The Annex B reader of src/media/decoder.ts against hand-made access units (docs/protocol/video.md §8). */
import {describe, expect, it} from 'vitest'

import {isKeyFrameStart, nalUnits} from '../../src/media/decoder.js'

/** An access unit from NAL header bytes, each after a 4-byte start code with a 3-byte body. */
const au = (...headers: number[][]) => Buffer.concat(headers.map((h) => Buffer.from([0, 0, 0, 1, ...h, 0x11, 0x22, 0x33])))
const h264 = (type: number) => [0x60 | type]
const hevc = (type: number) => [type << 1, 0x01]

describe('nalUnits', () => {
  it('finds 3- and 4-byte start codes and reads the type for each codec', () => {
    const data = Buffer.from([0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 4])
    expect(nalUnits('h264', data).map((n) => [n.type, n.offset])).toEqual([
      [7, 0],
      [8, 7],
      [5, 12],
    ])
    expect(nalUnits('hevc', au(hevc(32), hevc(33), hevc(34), hevc(19))).map((n) => n.type)).toEqual([32, 33, 34, 19])
  })
})

describe('isKeyFrameStart (the client’s test)', () => {
  it('H.264: SPS, PPS, IDR slice, with AUD/SEI in front or between', () => {
    expect(isKeyFrameStart('h264', au(h264(7), h264(8), h264(5)))).toBe(true)
    expect(isKeyFrameStart('h264', au(h264(9), h264(6), h264(7), h264(8), h264(6), h264(5), h264(5)))).toBe(true)
    expect(isKeyFrameStart('h264', au(h264(1)))).toBe(false) // a P-frame
    expect(isKeyFrameStart('h264', au(h264(8), h264(1)))).toBe(false) // leading PPS, P slice
    expect(isKeyFrameStart('h264', au(h264(5)))).toBe(false) // IDR slice without parameter sets
    expect(isKeyFrameStart('h264', au(h264(7), h264(8), h264(1)))).toBe(false) // parameter sets, non-IDR slice
  })

  it('HEVC: VPS, SPS, PPS, then an IRAP slice (16..21)', () => {
    expect(isKeyFrameStart('hevc', au(hevc(32), hevc(33), hevc(34), hevc(19)))).toBe(true)
    expect(isKeyFrameStart('hevc', au(hevc(35), hevc(32), hevc(33), hevc(34), hevc(39), hevc(20)))).toBe(true)
    expect(isKeyFrameStart('hevc', au(hevc(1)))).toBe(false)
    expect(isKeyFrameStart('hevc', au(hevc(33), hevc(34), hevc(19)))).toBe(false) // no VPS first
    expect(isKeyFrameStart('hevc', au(hevc(32), hevc(33), hevc(34), hevc(1)))).toBe(false) // TRAIL_R after the sets
  })
})
