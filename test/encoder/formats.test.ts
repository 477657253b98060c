/**
 * YUV 4:4:4 and 10-bit through the encoder layer (src/media/encoder.ts → libs/src/encoder.c):
 * what Moonlight negotiates with x-ss-video[0].chromaSamplingType 1 and
 * x-nv-video[0].dynamicRangeMode 1 (docs/protocol/rtsp.md §3.4). Each stream is decoded back by
 * libavcodec and checked three ways: the profile its SPS declares (read by the test's own
 * parser), the bit depth and chroma format the decoder reports, and the PSNR of every plane
 * against the source converted the way that format's encoder converts it.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {SyntheticSource} from '../../src/media/capture/synthetic.js'
import {VideoDecoder} from '../../src/media/decoder.js'
import {type EncoderName, VideoEncoder} from '../../src/media/encoder.js'
import {type BitDepth, type Chroma, psnrBgrxPlanar} from '../../src/native/codec.js'
import {ShimError} from '../../src/native/errors.js'
import type {CpuFrame} from '../../src/media/types.js'
import {spsProfile} from './helpers.js'

const W = 320
const H = 240
const open: Array<{close(): void}> = []
afterEach(() => {
  while (open.length > 0) open.pop()?.close()
})

const cases: Array<{encoder: EncoderName; codec: 'h264' | 'hevc'; chroma: Chroma; bitDepth: BitDepth; profile: number; name: string}> = [
  {encoder: 'libx264', codec: 'h264', chroma: '444', bitDepth: 8, profile: 244, name: 'H.264 High 4:4:4 Predictive'},
  {encoder: 'libx265', codec: 'hevc', chroma: '420', bitDepth: 10, profile: 2, name: 'HEVC Main10'},
  {encoder: 'libx265', codec: 'hevc', chroma: '444', bitDepth: 8, profile: 4, name: 'HEVC RExt Main 4:4:4'},
  {encoder: 'libx265', codec: 'hevc', chroma: '444', bitDepth: 10, profile: 4, name: 'HEVC RExt Main 4:4:4 10'},
]

describe('4:4:4 and 10-bit streams decode back as what was asked', () => {
  for (const c of cases) {
    it(`${c.name} (${c.encoder}, ${c.chroma}, ${c.bitDepth}-bit)`, () => {
      const source = new SyntheticSource({width: W, height: H, clock: 'frame'})
      const enc = new VideoEncoder({encoder: c.encoder, width: W, height: H, fps: 60, bitrateKbps: 6000, chroma: c.chroma, bitDepth: c.bitDepth})
      const dec = new VideoDecoder(c.codec, 'planar', {width: W, height: H})
      open.push(source, enc, dec)
      const psnr: Array<{y: number; u: number; v: number}> = []
      let idrs = 0
      for (let i = 0; i < 20; i++) {
        const frame = source.grab().payload as CpuFrame
        const au = enc.encode(frame, {forceIdr: i === 10})!
        if (i === 0 || i === 10) expect(spsProfile(c.codec, au.data), `frame ${i}'s SPS profile`).toBe(c.profile)
        if (au.idr) idrs++
        const pic = dec.decode(au.data)
        expect(pic, `frame ${i} gave no picture`).toBeDefined()
        expect(pic!.bitDepth).toBe(c.bitDepth)
        expect(pic!.chromaFormat).toBe(c.chroma === '444' ? 444 : 420)
        const samples = W * H * (c.chroma === '444' ? 3 : 1.5) * (c.bitDepth === 10 ? 2 : 1)
        expect(pic!.length).toBe(samples)
        psnr.push(psnrBgrxPlanar(frame.data, frame.stride, pic!.data, W, H, c.chroma, c.bitDepth))
      }
      expect(idrs).toBe(2)
      const mean = (k: 'y' | 'u' | 'v') => psnr.reduce((s, p) => s + p[k], 0) / psnr.length
      for (const k of ['y', 'u', 'v'] as const) expect(mean(k), `mean ${k} PSNR`).toBeGreaterThan(35)
      expect(enc.describe()).toContain(c.chroma === '444' ? 'yuv444p' : 'yuv420p10')
    })
  }

  it('4:4:4 keeps the one-pixel colour detail 4:2:0 loses (decoded to BGRx, compared with the source here)', () => {
    // alternate red and blue columns: 4:2:0 averages each pair into one chroma sample (magenta)
    const bgrx = Buffer.alloc(W * H * 4)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) bgrx.writeUInt32LE(x % 2 === 0 ? 0x00ff0000 : 0x000000ff, (y * W + x) * 4)
    const frame: CpuFrame = {kind: 'cpu', data: bgrx, stride: W * 4, width: W, height: H}
    const rgbPsnr = (chroma: Chroma): number => {
      const enc = new VideoEncoder({encoder: 'libx264', width: W, height: H, fps: 60, bitrateKbps: 20000, chroma})
      const dec = new VideoDecoder('h264', 'bgrx', {width: W, height: H})
      open.push(enc, dec)
      let pic: Buffer = Buffer.alloc(0)
      for (let i = 0; i < 8; i++) pic = dec.decode(enc.encode(frame)!.data)!.data
      let sse = 0
      for (let i = 0; i < W * H * 4; i++) if (i % 4 !== 3) sse += (pic[i] - bgrx[i]) ** 2
      return 10 * Math.log10((255 * 255 * W * H * 3) / Math.max(sse, 1))
    }
    const full = rgbPsnr('444')
    const half = rgbPsnr('420')
    expect(full).toBeGreaterThan(30)
    expect(full - half).toBeGreaterThan(10)
  })

  it('10-bit H.264 is refused: Moonlight has no such format', () => {
    expect(() => new VideoEncoder({encoder: 'libx264', width: W, height: H, fps: 60, bitrateKbps: 2000, bitDepth: 10})).toThrow(ShimError)
    expect(() => new VideoEncoder({encoder: 'libx264', width: W, height: H, fps: 60, bitrateKbps: 2000, bitDepth: 10})).toThrow(/no 10-bit H.264/)
  })
})
