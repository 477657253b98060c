/**
 * The encoder layer through its TypeScript API (src/media/encoder.ts): the bitstream shape the
 * Moonlight client needs (docs/protocol/video.md §8), IDR on request, bitrate changes while running, and the
 * decoder that checks them. NAL types are read by the test's own parser (helpers.ts).
 */
import {afterEach, describe, expect, it} from 'vitest'

import {SyntheticSource} from '../../src/media/capture/synthetic.js'
import {isKeyFrameStart, VideoDecoder} from '../../src/media/decoder.js'
import {type EncodedVideoFrame, type EncoderName, VideoEncoder} from '../../src/media/encoder.js'
import {psnrBgrxI420} from '../../src/native/codec.js'
import {ShimError} from '../../src/native/errors.js'
import {nalTypes} from './helpers.js'

const W = 320
const H = 240
const open: Array<{close(): void}> = []
afterEach(() => {
  while (open.length > 0) open.pop()?.close()
})

function setup(encoder: EncoderName, bitrateKbps = 2000) {
  const source = new SyntheticSource({width: W, height: H, clock: 'frame'})
  const enc = new VideoEncoder({encoder, width: W, height: H, fps: 60, bitrateKbps})
  open.push(source, enc)
  const encode = (options: {forceIdr?: boolean} = {}): EncodedVideoFrame => {
    const f = enc.encode(source.grab().payload, options)
    expect(f, 'the encoder gave no access unit for a frame').toBeDefined()
    return f!
  }
  return {enc, encode}
}

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length

describe('libx265 access units', () => {
  it('an IDR starts with VPS, SPS, PPS and then the IDR slice, with no SEI in front of the slice', () => {
    const {encode} = setup('libx265')
    const first = encode()
    for (let i = 1; i < 40; i++) encode()
    const forced = encode({forceIdr: true})
    for (const au of [first, forced]) {
      expect(au.idr).toBe(true)
      const types = nalTypes('hevc', au.data)
      expect(types.slice(0, 3)).toEqual([32, 33, 34])
      expect([19, 20]).toContain(types[3]) // IDR_W_RADL or IDR_N_LP
      expect(types).not.toContain(39) // prefix SEI (x265's info SEI is ~2.3 kB)
      expect(types).not.toContain(40)
      // the first data packet (1368 bytes after the frame header) holds the slice's start
      const sliceStart = au.data.indexOf(Buffer.from([0, 0, 1, types[3] << 1]))
      expect(sliceStart).toBeGreaterThan(0)
      expect(sliceStart).toBeLessThan(1368)
    }
  })

  it('P-frames start with their slice and carry no parameter sets', () => {
    const {encode} = setup('libx265')
    encode()
    for (let i = 1; i < 30; i++) {
      const au = encode()
      expect(au.idr).toBe(false)
      const types = nalTypes('hevc', au.data)
      expect(types[0]).toBeLessThan(32) // a VCL NAL (TRAIL_R etc.)
      expect(types.some((t) => t >= 32 && t <= 34)).toBe(false)
    }
  })
})

describe('libx264 access units', () => {
  it('an IDR carries SPS, PPS before its IDR slices; P-frames carry only non-IDR slices', () => {
    const {encode} = setup('libx264')
    const idr = encode()
    const t = nalTypes('h264', idr.data)
    expect(t.slice(0, 2)).toEqual([7, 8])
    expect(t.filter((x) => x === 1 || x === 5).every((x) => x === 5)).toBe(true)
    expect(isKeyFrameStart('h264', idr.data)).toBe(true)
    // the IDR slice starts inside the first packet (1368 bytes after the frame header)
    const slice = idr.data.findIndex((_, i) => i + 3 < idr.data.length && idr.data[i] === 0 && idr.data[i + 1] === 0 && idr.data[i + 2] === 1 && (idr.data[i + 3] & 0x1f) === 5)
    expect(slice).toBeGreaterThan(0)
    expect(slice).toBeLessThan(1368)
    for (let i = 0; i < 20; i++) {
      const p = encode()
      const types = nalTypes('h264', p.data)
      expect(types.every((x) => x === 1), `frame ${i + 1}: ${types.join(',')}`).toBe(true)
      expect(isKeyFrameStart('h264', p.data)).toBe(false)
    }
  })
})

describe('IDR on request', () => {
  it('requestIdr() makes the next frame, and only it, an IDR', () => {
    const {enc, encode} = setup('libx264')
    const idr = [encode().idr]
    for (let i = 1; i < 30; i++) {
      if (i === 17) enc.requestIdr()
      idr.push(encode().idr)
    }
    expect(idr.flatMap((v, i) => (v ? [i] : []))).toEqual([0, 17])
  })
})

describe('bitrate change while running', () => {
  for (const encoder of ['libx264', 'libx265'] as const) {
    it(`${encoder}: frame sizes follow 3000 → 600 → 3000 kbit/s`, () => {
      const {enc, encode} = setup(encoder, 3000)
      const sizes: number[] = []
      const idrs: number[] = []
      const hows: string[] = []
      for (let i = 0; i < 240; i++) {
        if (i === 80) hows.push(enc.setBitrate(600))
        if (i === 160) hows.push(enc.setBitrate(3000))
        const f = encode()
        sizes.push(f.data.length)
        if (f.idr) idrs.push(i)
      }
      const high = mean(sizes.slice(40, 80))
      const low = mean(sizes.slice(120, 160))
      const back = mean(sizes.slice(200, 240))
      // CBR: a frame holds about bitrate / fps bits
      expect(low).toBeLessThan(high * 0.4)
      expect(back).toBeGreaterThan(low * 2.5)
      expect(low * 8 * 60).toBeLessThan(600_000 * 1.5)
      if (encoder === 'libx264') {
        expect(hows).toEqual(['in-place', 'in-place']) // x264_encoder_reconfig: no IDR
        expect(idrs).toEqual([0])
      } else {
        expect(hows).toEqual(['reopened', 'reopened']) // libavcodec 62's libx265 cannot reconfigure
        expect(idrs).toEqual([0, 80, 160])
      }
      expect(enc.bitrateKbps).toBe(3000)
    })
  }
})

describe('decoder', () => {
  it('gives one picture per access unit, with key-frame flags and the size', () => {
    const {encode} = setup('libx265')
    const dec = new VideoDecoder('hevc', 'bgrx', {width: W, height: H})
    open.push(dec)
    for (let i = 0; i < 10; i++) {
      const p = dec.decode(encode({forceIdr: i === 6}).data)
      expect(p).toBeDefined()
      expect(p!.width).toBe(W)
      expect(p!.height).toBe(H)
      expect(p!.data.length).toBe(W * H * 4)
      expect(p!.keyFrame).toBe(i === 0 || i === 6)
    }
    expect(dec.drain()).toEqual([])
  })

  it('gives BGRx pictures with the source colours (BT.709 limited range both ways)', () => {
    // four flat quadrants: red, green, blue, mid grey
    const colours = [0xd02020, 0x20c040, 0x3040e0, 0x808080]
    const data = Buffer.alloc(W * H * 4)
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) data.writeUInt32LE(colours[(y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1)], (y * W + x) * 4)
    }
    const enc = new VideoEncoder({encoder: 'libx264', width: W, height: H, fps: 60, bitrateKbps: 4000})
    const dec = new VideoDecoder('h264', 'bgrx', {width: W, height: H})
    open.push(enc, dec)
    let picture: Buffer | undefined
    for (let i = 0; i < 10; i++) picture = dec.decode(enc.encode({kind: 'cpu', width: W, height: H, stride: W * 4, data})!.data)?.data
    expect(picture).toBeDefined()
    // quadrant centres; a wrong matrix (BT.601 vs 709) or range (full vs limited) is off by 10+
    for (const [x, y, c] of [[W / 4, H / 4, 0], [(3 * W) / 4, H / 4, 1], [W / 4, (3 * H) / 4, 2], [(3 * W) / 4, (3 * H) / 4, 3]]) {
      const got = picture!.readUInt32LE((y * W + x) * 4)
      for (const shift of [0, 8, 16]) {
        expect(Math.abs(((got >> shift) & 255) - ((colours[c] >> shift) & 255)), `colour ${c} channel ${shift / 8}`).toBeLessThanOrEqual(4)
      }
    }
  })

  it('rejects an unknown codec with a clear error', () => {
    expect(() => new VideoDecoder('vp9' as 'h264')).toThrow(/no decoder for codec 'vp9'/)
  })
})

describe('conversion helper thread (convertThreads 2, serve --convert-threads)', () => {
  it('converts the whole frame: the decoded pictures match the source as well as with one thread', () => {
    const run = (threads: 1 | 2): number[] => {
      const source = new SyntheticSource({width: 640, height: 480, clock: 'frame'})
      const enc = new VideoEncoder({encoder: 'libx264', width: 640, height: 480, fps: 60, bitrateKbps: 8000, convertThreads: threads})
      const dec = new VideoDecoder('h264', 'i420', {width: 640, height: 480})
      open.push(source, enc, dec)
      expect(enc.describe().endsWith(' on 2 threads')).toBe(threads === 2)
      return Array.from({length: 20}, () => {
        const frame = source.grab().payload as {data: Buffer; stride: number}
        const picture = dec.decode(enc.encode(frame as never)!.data)!
        return psnrBgrxI420(frame.data, frame.stride, picture.data, 640, 480).all
      })
    }
    const one = run(1)
    const two = run(2)
    // a half left unconverted would be garbage (≈10 dB) in every frame
    for (let i = 5; i < 20; i++) {
      expect(two[i]).toBeGreaterThan(30)
      expect(Math.abs(two[i] - one[i])).toBeLessThan(2)
    }
  })
})

describe('encoder argument checks', () => {
  it('refuses odd sizes, zero fps and a zero bitrate with the reason', () => {
    const bad: Array<[Partial<ConstructorParameters<typeof VideoEncoder>[0]>, RegExp]> = [
      [{width: 321}, /must be even/],
      [{fps: 0}, /fps 0 is out of range/],
      [{bitrateKbps: 0}, /bitrate 0 kbit\/s is out of range/],
    ]
    for (const [override, message] of bad) {
      let caught: unknown
      try {
        new VideoEncoder({encoder: 'libx264', width: W, height: H, fps: 60, bitrateKbps: 2000, ...override}).close()
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(ShimError)
      expect((caught as ShimError).message).toMatch(message)
      expect((caught as ShimError).status).toBe('invalid')
    }
  })
})
