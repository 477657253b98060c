/**
 * AV1 through the encoder layer (libaom-av1) and the stream: the OBU reader against byte strings
 * built from the AV1 spec's OBU syntax (§5.3: obu_header, leb128 obu_size), then SVT-AV1 frames
 * decoded back by dav1d: one key frame at the start, P-frames after it, a key frame exactly where
 * one is asked for, each key frame led by the sequence header a decoder joining there needs, and
 * a fresh decoder that starts at the asked-for key frame decodes from it on.
 */
import {afterEach, describe, expect, it} from 'vitest'

import {SyntheticSource} from '../../src/media/capture/synthetic.js'
import {AV1_OBU, av1ObuTypes, isKeyFrameStart, VideoDecoder} from '../../src/media/decoder.js'
import {VideoEncoder} from '../../src/media/encoder.js'
import {psnrBgrxPlanar} from '../../src/native/codec.js'
import {hasDecoder, hasEncoder} from '../../src/native/core.js'
import type {CpuFrame} from '../../src/media/types.js'

/** obu_header (forbidden 0, type, extension flag, has_size 1, reserved 0) + leb128 size + payload */
const obu = (type: number, payload: number[], extension?: number): number[] => {
  const size: number[] = []
  let n = payload.length
  do {
    size.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
    n >>= 7
  } while (n > 0)
  return [(type << 3) | (extension === undefined ? 0 : 0x04) | 0x02, ...(extension === undefined ? [] : [extension]), ...size, ...payload]
}

describe('AV1 OBU reader', () => {
  it('lists the OBUs of a temporal unit, with extension headers and multi-byte sizes', () => {
    const td = obu(2, [])
    const seq = obu(1, [0x00, 0x00, 0x00])
    const frame = obu(6, Array.from({length: 200}, (_, i) => i & 0xff), 0x08)
    const unit = Uint8Array.from([...td, ...seq, ...frame])
    expect(av1ObuTypes(unit)).toEqual([AV1_OBU.temporalDelimiter, AV1_OBU.sequenceHeader, AV1_OBU.frame])
    // 200 needs two leb128 bytes: 0xc8 0x01
    expect(frame.slice(2, 4)).toEqual([0xc8, 0x01])
    expect(isKeyFrameStart('av1', unit)).toBe(true)
    expect(isKeyFrameStart('av1', Uint8Array.from([...td, ...frame]))).toBe(false)
  })

  it('refuses an OBU that runs past the end, has no size field, or sets the forbidden bit', () => {
    const seq = obu(1, [1, 2, 3])
    expect(av1ObuTypes(Uint8Array.from(seq.slice(0, -1)))).toBeUndefined()
    expect(av1ObuTypes(Uint8Array.from([0x30, 0x00]))).toBeUndefined()
    expect(av1ObuTypes(Uint8Array.from([0x80 | 0x12, 0x00]))).toBeUndefined()
    // a size that never ends (continuation bit on every byte)
    expect(av1ObuTypes(Uint8Array.from([0x32, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBeUndefined()
  })
})

const av1 = hasEncoder('libaom-av1') && hasDecoder('libdav1d')
const W = 320
const H = 240
const open: Array<{close(): void}> = []
afterEach(() => {
  while (open.length > 0) open.pop()?.close()
})

describe.skipIf(!av1)(`libaom-av1 → dav1d${av1 ? '' : ' (skipped: this libavcodec has no libaom-av1 or libdav1d)'}`, () => {
  it('one key frame, then P-frames; a key frame where asked, with its sequence header; a decoder can join there', () => {
    const source = new SyntheticSource({width: W, height: H, clock: 'frame'})
    const enc = new VideoEncoder({encoder: 'libaom-av1', width: W, height: H, fps: 60, bitrateKbps: 3000})
    const dec = new VideoDecoder('av1', 'planar', {width: W, height: H})
    open.push(source, enc, dec)
    const units: Buffer[] = []
    const keys: number[] = []
    const psnr: number[] = []
    for (let i = 0; i < 40; i++) {
      const frame = source.grab().payload as CpuFrame
      const au = enc.encode(frame, {forceIdr: i === 25})
      expect(au, `frame ${i}: the encoder held it back (not low delay)`).toBeDefined()
      expect(av1ObuTypes(au!.data), `frame ${i} parses to its end`).toBeDefined()
      units.push(Buffer.from(au!.data))
      if (au!.idr) keys.push(i)
      const pic = dec.decode(au!.data)
      expect(pic, `frame ${i} gave no picture`).toBeDefined()
      expect(pic!.keyFrame).toBe(i === 0 || i === 25)
      psnr.push(psnrBgrxPlanar(frame.data, frame.stride, pic!.data, W, H, '420', 8).y)
    }
    expect(keys).toEqual([0, 25])
    expect(units.map((u, i) => (isKeyFrameStart('av1', u) ? i : -1)).filter((i) => i >= 0)).toEqual([0, 25])
    expect(psnr.reduce((a, b) => a + b, 0) / psnr.length).toBeGreaterThan(30)
    const joined = new VideoDecoder('av1', 'planar', {width: W, height: H})
    open.push(joined)
    for (let i = 25; i < 40; i++) expect(joined.decode(units[i]), `a decoder that joined at 25: frame ${i}`).toBeDefined()
    expect(enc.describe()).toContain('libaom-av1')
  })

  it('10-bit is refused with the reason, so it is never offered', () => {
    for (const chroma of ['420', '444'] as const)
      expect(() => new VideoEncoder({encoder: 'libaom-av1', width: W, height: H, fps: 60, bitrateKbps: 6000, chroma, bitDepth: 10})).toThrow(/libaom-av1: 10-bit is not offered/)
  })

  // AV1 profiles: Main (4:2:0) above, High (4:4:4) here
  for (const f of [{chroma: '444', bitDepth: 8, name: 'High 4:4:4'}] as const) {
    it(`${f.name}: decodes back as ${f.bitDepth}-bit ${f.chroma}, every plane above 35 dB`, () => {
      const source = new SyntheticSource({width: W, height: H, clock: 'frame'})
      const enc = new VideoEncoder({encoder: 'libaom-av1', width: W, height: H, fps: 60, bitrateKbps: 6000, chroma: f.chroma, bitDepth: f.bitDepth})
      const dec = new VideoDecoder('av1', 'planar', {width: W, height: H})
      open.push(source, enc, dec)
      const psnr: Array<{y: number; u: number; v: number}> = []
      for (let i = 0; i < 12; i++) {
        const frame = source.grab().payload as CpuFrame
        const au = enc.encode(frame, {forceIdr: i === 6})!
        expect(au.idr).toBe(i === 0 || i === 6)
        const pic = dec.decode(au.data)
        expect(pic, `frame ${i} gave no picture`).toBeDefined()
        expect(`${pic!.bitDepth}-bit ${pic!.chromaFormat}`).toBe(`${f.bitDepth}-bit ${f.chroma}`)
        psnr.push(psnrBgrxPlanar(frame.data, frame.stride, pic!.data, W, H, f.chroma, f.bitDepth))
      }
      for (const k of ['y', 'u', 'v'] as const) expect(psnr.reduce((a, p) => a + p[k], 0) / psnr.length, `mean ${k} PSNR`).toBeGreaterThan(35)
    })
  }
})
